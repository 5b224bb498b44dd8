/* fuzz_capture.c — libFuzzer target for what ctlab replay reads of a capture: pcap and pcapng blocks, link headers, IP packets. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packet/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A file of a million tiny frames parses in well under the per-input timeout. */
#define FRAMES_MAX	100000

/* What replay does with a frame: its IP packet, summarised, checksums finished
 * on a copy; every length it is handed must lie inside what it was given. */
static void take_frame(const struct cap_frame *frame, struct packet_summary *last)
{
	static uint8_t copy[CAPFILE_SNAPLEN_MAX];
	struct packet_summary p;
	enum cap_direction dir;
	const uint8_t *ip;
	uint8_t mac[6];
	size_t len;

	if (frame->caplen > CAPFILE_SNAPLEN_MAX)
		abort();
	cap_frame_truncated(frame);
	cap_frame_src_mac(frame, mac);
	if (cap_frame_ip(frame, &ip, &len, &dir) < 0)
		return;
	if (ip < frame->data || ip + len > frame->data + frame->caplen)
		abort();
	if (packet_parse(ip, len, &p) < 0)
		return;
	packet_copy_of(&p, last);
	memcpy(copy, ip, len);
	packet_fix_checksum(copy, len);
	*last = p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct packet_summary last;
	struct cap_frame frame;
	struct capfile *capfile;
	char err[300];
	FILE *file;
	int got = 1;

	if (size == 0)
		return 0;
	memset(&last, 0, sizeof(last));
	file = fmemopen((void *)data, size, "r");
	if (!file)
		return 0;
	err[0] = '\0';
	capfile = capfile_open(file, err, sizeof(err));
	/* A refusal says why, NUL-terminated. */
	if (!capfile && (!memchr(err, '\0', sizeof(err)) || !err[0]))
		abort();
	for (size_t i = 0; capfile && i < FRAMES_MAX && got == 1; i++) {
		got = capfile_next(capfile, &frame);
		if (got == 1)
			take_frame(&frame, &last);
		else if (got < 0 && !capfile_error(capfile)[0])
			abort();
	}
	capfile_close(capfile);
	fclose(file);
	return 0;
}
