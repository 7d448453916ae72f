/* Runs every suite of suites.h, or the one CK_RUN_SUITE names. CK_FORK=no runs in one process,
 * for gdb and valgrind. Exits 77 (skipped, for ctest) when tests were skipped and none failed. */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

#define SKIPPED 77

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed, skipped;

#define SUITE(name) srunner_add_suite(sr, suite_##name());
#include "suites.h"
#undef SUITE
	skips_start();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	skipped = skips_counted();
	if (skipped)
		printf("%d test%s skipped\n", skipped, skipped == 1 ? "" : "s");
	return failed ? EXIT_FAILURE : skipped ? SKIPPED : EXIT_SUCCESS;
}
