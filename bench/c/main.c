/* pidlock-bench: one measurement per run, one line of numbers out (see bench.h). */
#include <stdio.h>
#include <string.h>

#include "bench.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "cycle", cmd_cycle },
	{ "handoff", cmd_handoff },
	{ "contention", cmd_contention },
	{ "probe", cmd_probe },
	{ "locks", cmd_locks },
};

int main(int argc, char **argv)
{
	for (size_t i = 0; argc > 1 && i < sizeof commands / sizeof *commands; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 2, argv + 2);
	fprintf(stderr, "usage: pidlock-bench cycle|handoff|contention|probe|locks ARGS...\n");
	return 2;
}
