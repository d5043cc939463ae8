// The Win32 native surface (native/win/binding.cc; native/win/unsupported.cc elsewhere).
export interface NativeWin {
  /** false on non-Windows builds, where every other function throws ERR_PLATFORM_UNSUPPORTED. */
  available: boolean;
  probe(): unknown;
}
