{
  "targets": [
    {
      "target_name": "wcow_resources",
      "sources": [
        "native/addon.cc",
        "native/vhdx/binding.cc",
        "native/vhdx/crc32c.cc",
        "native/vhdx/create.cc",
        "native/vhdx/format.cc",
        "native/vhdx/image.cc",
        "native/vhdx/platform.cc",
        "native/vhdx/structures.cc",
        "native/vhdx/text.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2"],
      "conditions": [
        ["OS=='win'", {
          "sources": [
            "native/win/async.cc",
            "native/win/binding.cc",
            "native/win/cimfs.cc",
            "native/win/computecore.cc",
            "native/win/computestorage.cc",
            "native/win/dlls.cc",
            "native/win/handles.cc",
            "native/win/paths.cc",
            "native/win/virtdisk.cc",
            "native/win/vmcompute.cc",
            "native/win/volume.cc"
          ],
          "defines": ["UNICODE", "_UNICODE", "WIN32_LEAN_AND_MEAN", "NOMINMAX", "_WIN32_WINNT=0x0A00"],
          "libraries": ["computecore.lib", "computestorage.lib", "virtdisk.lib", "delayimp.lib"],
          "msvs_settings": {
            "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] },
            "VCLinkerTool": { "DelayLoadDLLs": ["computecore.dll", "computestorage.dll", "virtdisk.dll"] }
          }
        }, {
          "sources": ["native/win/unsupported.cc"]
        }]
      ]
    }
  ]
}
