/* version — ctlab's version and the commit it was built from (CTLAB_VERSION and
 * CTLAB_COMMIT come from build/version.h, which the Makefile writes and includes). */
#include "base/base.h"

const char *ctlab_version(void)
{
	return CTLAB_VERSION;
}

const char *ctlab_version_long(void)
{
	return CTLAB_COMMIT[0] ? CTLAB_VERSION " (" CTLAB_COMMIT ")" : CTLAB_VERSION;
}
