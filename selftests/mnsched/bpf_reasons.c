// SPDX-License-Identifier: MIT
/*
 * bpf_reasons - the tools' wait-reason names (tools/mnsched-util.c) must be
 * the runtime's (mn_waitreason_str in user/src/proc.c, enum mn_waitreason):
 * the g_park probe passes the number, the tools print the name.
 *
 * Linked with libmnsched.a (mn_waitreason_str is hidden from the .so's
 * dynamic symbols, not from a static link) and mnsched-util.o.
 * Prints TAP-ish lines; exit status 0 when they agree.
 */
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "mnsched-util.h"

const char *mn_waitreason_str(int r);

int main(void)
{
	int bad = 0;

	for (unsigned int i = 0; i < mt_nwaitreasons; i++) {
		const char *rt = mn_waitreason_str((int)i);
		const char *tool = mt_reason_name(i);

		if (strcmp(rt, tool)) {
			printf("reason %u: runtime \"%s\", tools \"%s\"\n", i, rt, tool);
			bad++;
		}
	}
	if (strcmp(mn_waitreason_str((int)mt_nwaitreasons), "unknown")) {
		printf("the runtime has more wait reasons than the tools (%u): "
		       "reason %u is \"%s\"\n", mt_nwaitreasons, mt_nwaitreasons,
		       mn_waitreason_str((int)mt_nwaitreasons));
		bad++;
	}
	if (mt_nwaitreasons > MT_LAT_WAIT_MAX) {
		printf("MT_LAT_WAIT_MAX (%d) is below the number of wait reasons (%u)\n",
		       MT_LAT_WAIT_MAX, mt_nwaitreasons);
		bad++;
	}
	if (!bad)
		printf("%u wait reasons agree\n", mt_nwaitreasons);
	return bad ? 1 : 0;
}
