/* The Check suites, one per topic: SUITE(name) is suite_name(), defined in test-name.c.
 * The one list: helpers.h declares them, test-main.c runs them and tests/c/CMakeLists.txt
 * builds test-name.c and adds the ctest test c-name for each line here. */
SUITE(port)
SUITE(acquire)
SUITE(release)
SUITE(content)
SUITE(probe)
SUITE(hostile)
SUITE(paths)
SUITE(concurrency)
SUITE(wait)
SUITE(fork)
SUITE(descriptors)
SUITE(security)
SUITE(waiter)
SUITE(owner)
SUITE(queue)
