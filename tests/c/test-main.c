/* Runs every suite. CK_FORK=no runs in one process, for gdb and valgrind. */
#include <stdlib.h>

#include "helpers.h"

int main(void)
{
	SRunner *sr = srunner_create(suite_port());
	int failed;

	srunner_add_suite(sr, suite_acquire());
	srunner_add_suite(sr, suite_release());
	srunner_add_suite(sr, suite_content());
	srunner_add_suite(sr, suite_probe());
	srunner_add_suite(sr, suite_hostile());
	srunner_add_suite(sr, suite_paths());
	srunner_add_suite(sr, suite_concurrency());
	srunner_add_suite(sr, suite_wait());
	srunner_add_suite(sr, suite_fork());
	srunner_add_suite(sr, suite_descriptors());
	srunner_add_suite(sr, suite_security());
	srunner_add_suite(sr, suite_waiter());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
