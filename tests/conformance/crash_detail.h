// What the conformance kit says of a check whose process an adapter crashed with SIGSEGV, in
// this build: killed by the signal, or, under a sanitizer that catches the crash and exits with
// its own status (1: AddressSanitizer, with UBSan first on a store to a null pointer; 66:
// ThreadSanitizer), that exit.
#ifndef CHAKONG_TESTS_CONFORMANCE_CRASH_DETAIL_H_
#define CHAKONG_TESTS_CONFORMANCE_CRASH_DETAIL_H_

#include <string>

namespace chakong::conformance::testing_support {

inline std::string segfault_detail() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#if defined(__SANITIZE_THREAD__)
  const std::string status = "66";
#else
  const std::string status = "1";
#endif
  return "the check's process exited with status " + status +
         " before reporting a result: the adapter crashed or exited (a sanitizer reports a "
         "crash so: its report is on stderr); the run goes on";
#else
  return "the check's process was killed by signal 11 (SIGSEGV: Segmentation fault): the "
         "adapter crashed; the run goes on";
#endif
}

}  // namespace chakong::conformance::testing_support

#endif  // CHAKONG_TESTS_CONFORMANCE_CRASH_DETAIL_H_
