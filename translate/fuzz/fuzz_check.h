// FUZZ_CHECK(cond): a fuzz-target invariant. On violation it names the file,
// line and condition on stderr and traps, so libFuzzer records the input.
#ifndef CCWPASS_TRANSLATE_FUZZ_FUZZ_CHECK_H_
#define CCWPASS_TRANSLATE_FUZZ_FUZZ_CHECK_H_

#include <cstdio>

#define FUZZ_CHECK(cond)                                                                    \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond); \
      __builtin_trap();                                                                     \
    }                                                                                       \
  } while (0)

#endif  // CCWPASS_TRANSLATE_FUZZ_FUZZ_CHECK_H_
