/* suite — how each test program runs its Check suite: forked (unless CK_FORK=no), output in order. */
#ifndef CTLAB_TESTS_SUITE_H
#define CTLAB_TESTS_SUITE_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* suite_run - run @suite, each test forked unless CK_FORK=no; returns how many failed. */
static inline int suite_run(Suite *suite)
{
	SRunner *runner = srunner_create(suite);
	int failed;

	/* Line by line, so what a test prints stays beside Check's lines. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	srunner_set_fork_status(runner, CK_FORK_GETENV);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed;
}

/* suite_main - what main returns for @suite: EXIT_SUCCESS when every test passed. */
static inline int suite_main(Suite *suite)
{
	return suite_run(suite) ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
