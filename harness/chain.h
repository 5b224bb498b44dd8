/* chain — the cause of every RST on the wire: the packet it answered, its verdict, the socket it reset. */
#ifndef CTLAB_CHAIN_H
#define CTLAB_CHAIN_H

#include <stddef.h>

#include "engine.h"

/*
 * chain_locate - fill @chains (at most @max) for @result, one per RST as its
 * sender emitted it, in wire order.  Returns how many were filled.  Pure: reads
 * @result only.
 *
 * A RST is an outgoing TCP RST on the wire that its host did not forward (no
 * copy of it came in there first).  Copies of one packet are told by what NAT
 * leaves alone: the IPv4 ID or IPv6 flow label, seq, ack, flags, length and
 * at least one port.  The cause is the latest TCP packet that came in at the
 * RST's sender on the reversed 4-tuple and whose numbers the RST answers (its
 * ack as the RST's seq, or its end as the RST's ack).  Seq and ack in the text
 * are relative to the SYNs, as in the ladder, where those were seen.
 */
size_t chain_locate(const struct run_result *result, struct rst_chain *chains, size_t max);

#endif
