/*
 * capfile — reading capture files as tcpdump, Wireshark and ctlab write
 * them: classic pcap (either byte order, micro- or nanosecond stamps) and
 * pcapng (sections in either byte order, several interfaces with their own
 * link types, names and stamp resolutions, the packet's direction).  A
 * capture is untrusted: every length is checked against what the file holds
 * and what a packet can be, and the file is read a block at a time, never
 * whole.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packet/packet.h"

#define PCAP_MAGIC_US		0xa1b2c3d4u
#define PCAP_MAGIC_NS		0xa1b23c4du
#define PCAPNG_SHB		0x0a0d0d0au
#define PCAPNG_BYTE_ORDER	0x1a2b3c4du
#define PCAPNG_IDB		1u
#define PCAPNG_PB		2u	/* obsolete packet block */
#define PCAPNG_SPB		3u
#define PCAPNG_EPB		6u
#define PCAPNG_IF_NAME		2u
#define PCAPNG_IF_TSRESOL	9u
#define PCAPNG_EPB_FLAGS	2u

/* The largest block read: a 256 KiB packet with room for options. */
#define CAPFILE_BLOCK_MAX	(CAPFILE_SNAPLEN_MAX + 65536)
#define CAPFILE_IFACES_MAX	256

struct capfile_iface {
	uint16_t linktype;
	uint64_t ticks_per_s;		/* pcapng if_tsresol; 10^6 by default */
	char name[64];
};

struct capfile {
	FILE *file;
	bool pcapng;
	bool swapped;			/* the file's byte order is not ours */
	uint64_t offset;		/* where the next block or record starts */
	size_t pending;			/* bytes of the next block already in buf (the magic) */
	uint8_t *buf;
	size_t size;
	/* classic pcap */
	uint16_t linktype;
	bool nanoseconds;
	/* pcapng: the current section's interfaces */
	size_t n_ifaces;
	struct capfile_iface ifaces[CAPFILE_IFACES_MAX];
	char error[256];
};

static uint32_t swap32(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

static uint32_t get32(const struct capfile *c, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return c->swapped ? swap32(v) : v;
}

static uint16_t get16(const struct capfile *c, const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return c->swapped ? (uint16_t)((v >> 8) | (v << 8)) : v;
}

static int fail(struct capfile *c, uint64_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct capfile *c, uint64_t at, const char *fmt, ...)
{
	va_list args;
	int len = snprintf(c->error, sizeof(c->error), "byte %llu: ", (unsigned long long)at);

	va_start(args, fmt);
	vsnprintf(c->error + len, sizeof(c->error) - (size_t)len, fmt, args);
	va_end(args);
	return -1;
}

/* Bytes @have..@len of a block or record into the buffer (the first @have are
 * there): 0, or 1 at a clean end of file before any byte of it (when @end_ok),
 * or -1 (cut short, a read error, no memory). */
static int read_into(struct capfile *c, size_t have, size_t len, bool end_ok)
{
	size_t got;

	if (len > c->size) {
		uint8_t *grown = realloc(c->buf, len);

		if (!grown)
			return fail(c, c->offset, "out of memory for a %zu-byte block", len);
		c->buf = grown;
		c->size = len;
	}
	got = fread(c->buf + have, 1, len - have, c->file);
	if (got == len - have)
		return 0;
	if (ferror(c->file))
		return fail(c, c->offset + have + got, "%s", strerror(errno));
	if (have + got == 0 && end_ok)
		return 1;
	return fail(c, c->offset + have + got, "the file ends inside a %s (%zu of %zu bytes)",
		    c->pcapng ? "block" : "record", have + got, len);
}

static int read_exact(struct capfile *c, size_t len, bool end_ok)
{
	return read_into(c, 0, len, end_ok);
}

static int read_more(struct capfile *c, size_t have, size_t len)
{
	return read_into(c, have, len, false);
}

struct capfile *capfile_open(FILE *file, char *err, size_t errsize)
{
	struct capfile *c = calloc(1, sizeof(*c));
	uint32_t magic;

	if (!c) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	c->file = file;
	if (read_exact(c, 4, true) != 0) {
		snprintf(err, errsize, "%s", c->error[0] ? c->error : "an empty file");
		goto out_free;
	}
	memcpy(&magic, c->buf, 4);
	if (magic == PCAPNG_SHB) {
		/* The section header is read as the first block, its magic already in. */
		c->pcapng = true;
		c->pending = 4;
		return c;
	}
	if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS)
		c->swapped = false;
	else if (swap32(magic) == PCAP_MAGIC_US || swap32(magic) == PCAP_MAGIC_NS)
		c->swapped = true;
	else {
		snprintf(err, errsize, "not a pcap or pcapng file (it starts %02x %02x %02x %02x)",
			 c->buf[0], c->buf[1], c->buf[2], c->buf[3]);
		goto out_free;
	}
	c->nanoseconds = (c->swapped ? swap32(magic) : magic) == PCAP_MAGIC_NS;
	c->offset = 4;
	if (read_exact(c, 20, false) != 0) {
		snprintf(err, errsize, "%s", c->error);
		goto out_free;
	}
	/* version, thiszone, sigfigs, snaplen, then the link type (its upper bits: FCS) */
	c->linktype = (uint16_t)get32(c, c->buf + 16);
	c->offset = 24;
	return c;

out_free:
	free(c->buf);
	free(c);
	return NULL;
}

const char *capfile_error(const struct capfile *c)
{
	return c->error;
}

void capfile_close(struct capfile *c)
{
	if (!c)
		return;
	free(c->buf);
	free(c);
}

/* A classic pcap record. */
static int next_record(struct capfile *c, struct cap_frame *frame)
{
	uint32_t caplen, len, sec, frac;
	int rc = read_exact(c, 16, true);

	if (rc)
		return rc > 0 ? 0 : -1;
	sec = get32(c, c->buf);
	frac = get32(c, c->buf + 4);
	caplen = get32(c, c->buf + 8);
	len = get32(c, c->buf + 12);
	if (caplen > CAPFILE_SNAPLEN_MAX)
		return fail(c, c->offset + 8, "a record claims %u captured bytes (at most %u)", caplen,
			    CAPFILE_SNAPLEN_MAX);
	c->offset += 16;
	if (read_exact(c, caplen, false) != 0)
		return -1;
	*frame = (struct cap_frame){
		.ts_ns = (uint64_t)sec * 1000000000u + (uint64_t)frac * (c->nanoseconds ? 1 : 1000),
		.linktype = c->linktype, .data = c->buf, .caplen = caplen,
		.len = len < caplen ? caplen : len, .offset = c->offset - 16,
	};
	c->offset += caplen;
	return 1;
}

/* The options of a block body from @at: if_name, if_tsresol, epb_flags. */
static void read_options(struct capfile *c, const uint8_t *at, const uint8_t *end,
			 struct capfile_iface *iface, uint32_t *flags)
{
	while (end - at >= 4) {
		uint16_t code = get16(c, at), len = get16(c, at + 2);
		size_t padded = ((size_t)len + 3) & ~(size_t)3;

		if (code == 0 || (size_t)(end - at - 4) < padded)
			return;
		if (iface && code == PCAPNG_IF_NAME && len) {
			size_t n = len < sizeof(iface->name) - 1 ? len : sizeof(iface->name) - 1;

			memcpy(iface->name, at + 4, n);
			iface->name[n] = '\0';
			iface->name[strcspn(iface->name, "\n")] = '\0';
		}
		if (iface && code == PCAPNG_IF_TSRESOL && len == 1) {
			uint8_t resol = at[4];
			uint64_t ticks = 1;

			/* 10^n, or 2^n with the top bit set; beyond a nanosecond is kept at it */
			for (unsigned i = 0; i < (resol & 0x7f) && ticks < 1000000000000u; i++)
				ticks *= resol & 0x80 ? 2 : 10;
			iface->ticks_per_s = ticks;
		}
		if (flags && code == PCAPNG_EPB_FLAGS && len == 4)
			*flags = get32(c, at + 4);
		at += 4 + padded;
	}
}

static uint64_t stamp_ns(uint64_t ticks, uint64_t per_s)
{
	if (per_s == 1000000000u)
		return ticks;
	return ticks / per_s * 1000000000u + ticks % per_s * 1000000000u / per_s;
}

/* One pcapng block; 1 a packet, 2 another block (read on), 0 the end, -1 an error. */
static int next_block(struct capfile *c, struct cap_frame *frame)
{
	uint64_t at = c->offset;
	uint32_t type, total, swapped_order;
	const uint8_t *body, *end;
	int rc;

	rc = c->pending ? read_more(c, c->pending, 8) : read_exact(c, 8, true);
	c->pending = 0;
	if (rc)
		return rc > 0 ? 0 : -1;
	type = get32(c, c->buf);
	if (type == PCAPNG_SHB) {
		/* A new section: its byte order, then new interfaces. */
		if (read_more(c, 8, 12) != 0)
			return -1;
		memcpy(&swapped_order, c->buf + 8, 4);
		if (swapped_order == PCAPNG_BYTE_ORDER)
			c->swapped = false;
		else if (swap32(swapped_order) == PCAPNG_BYTE_ORDER)
			c->swapped = true;
		else
			return fail(c, at + 8, "a section header with no byte-order magic");
		c->n_ifaces = 0;
		total = get32(c, c->buf + 4);
		if (total < 28 || total % 4 || total > CAPFILE_BLOCK_MAX)
			return fail(c, at + 4, "a section header of %u bytes", total);
		if (read_more(c, 12, total) != 0)
			return -1;
		c->offset += total;
		return 2;
	}
	total = get32(c, c->buf + 4);
	if (total < 12 || total % 4 || total > CAPFILE_BLOCK_MAX)
		return fail(c, at + 4, "a block of %u bytes (a multiple of 4, 12 to %u)", total,
			    CAPFILE_BLOCK_MAX);
	if (read_more(c, 8, total) != 0)
		return -1;
	if (get32(c, c->buf + total - 4) != total)
		return fail(c, at + total - 4, "a block whose lengths disagree (%u and %u)", total,
			    get32(c, c->buf + total - 4));
	c->offset += total;
	body = c->buf + 8;
	end = c->buf + total - 4;
	if (type == PCAPNG_IDB) {
		struct capfile_iface *iface;

		if (end - body < 8)
			return fail(c, at, "an interface block of %u bytes", total);
		if (c->n_ifaces == CAPFILE_IFACES_MAX)
			return fail(c, at, "more than %d interfaces", CAPFILE_IFACES_MAX);
		iface = &c->ifaces[c->n_ifaces++];
		*iface = (struct capfile_iface){ .linktype = get16(c, body), .ticks_per_s = 1000000 };
		read_options(c, body + 8, end, iface, NULL);
		return 2;
	}
	if (type == PCAPNG_EPB || type == PCAPNG_PB) {
		uint32_t iface_id, caplen, len, flags = 0;
		uint64_t ticks;

		if (end - body < 20)
			return fail(c, at, "a packet block of %u bytes", total);
		iface_id = type == PCAPNG_EPB ? get32(c, body) : get16(c, body);
		ticks = (uint64_t)get32(c, body + 4) << 32 | get32(c, body + 8);
		caplen = get32(c, body + 12);
		len = get32(c, body + 16);
		if (iface_id >= c->n_ifaces)
			return fail(c, at + 8, "a packet on interface %u of %zu", iface_id, c->n_ifaces);
		if (caplen > (size_t)(end - body - 20))
			return fail(c, at + 20, "a packet of %u bytes in a block of %u", caplen, total);
		read_options(c, body + 20 + ((caplen + 3u) & ~3u), end, NULL, &flags);
		*frame = (struct cap_frame){
			.ts_ns = stamp_ns(ticks, c->ifaces[iface_id].ticks_per_s),
			.linktype = c->ifaces[iface_id].linktype, .data = body + 20, .caplen = caplen,
			.len = len < caplen ? caplen : len, .iface = iface_id,
			.ifname = c->ifaces[iface_id].name, .offset = at,
			.direction = (flags & 3) == 1 ? CAP_IN : (flags & 3) == 2 ? CAP_OUT : CAP_UNKNOWN,
		};
		return 1;
	}
	if (type == PCAPNG_SPB) {
		uint32_t len;

		if (end - body < 4 || !c->n_ifaces)
			return fail(c, at, "a simple packet block without an interface");
		len = get32(c, body);
		*frame = (struct cap_frame){
			.linktype = c->ifaces[0].linktype, .data = body + 4,
			.caplen = len < (size_t)(end - body - 4) ? len : (size_t)(end - body - 4),
			.len = len, .ifname = c->ifaces[0].name, .offset = at,
		};
		if (frame->len < frame->caplen)
			frame->len = frame->caplen;
		return 1;
	}
	return 2;	/* name resolution, statistics, custom blocks: not packets */
}

int capfile_next(struct capfile *c, struct cap_frame *frame)
{
	int rc;

	if (!c->pcapng)
		return next_record(c, frame);
	do {
		*frame = (struct cap_frame){ .data = NULL };
		rc = next_block(c, frame);
	} while (rc == 2);
	return rc;
}

/* Ethernet and VLAN tags; the Linux cooked headers; loopback's family word; raw IP. */
int cap_frame_ip(const struct cap_frame *frame, const uint8_t **ip, size_t *len,
		 enum cap_direction *direction)
{
	const uint8_t *p = frame->data;
	size_t n = frame->caplen, skip;
	uint16_t ethertype = 0;

	*direction = frame->direction;
	switch (frame->linktype) {
	case CAP_LINKTYPE_ETHERNET:
		if (n < 14)
			return -EINVAL;
		skip = 12;
		ethertype = (uint16_t)(p[skip] << 8 | p[skip + 1]);
		/* 802.1Q and 802.1ad tags, at most two deep */
		for (int tags = 0; (ethertype == 0x8100 || ethertype == 0x88a8) && tags < 2; tags++) {
			skip += 4;
			if (n < skip + 2)
				return -EINVAL;
			ethertype = (uint16_t)(p[skip] << 8 | p[skip + 1]);
		}
		skip += 2;
		break;
	case CAP_LINKTYPE_LINUX_SLL:
		if (n < 16)
			return -EINVAL;
		if (p[0] == 0 && p[1] == 4)
			*direction = CAP_OUT;
		else if (p[0] == 0 && p[1] <= 2 && *direction == CAP_UNKNOWN)
			*direction = CAP_IN;
		ethertype = (uint16_t)(p[14] << 8 | p[15]);
		skip = 16;
		break;
	case CAP_LINKTYPE_LINUX_SLL2:
		if (n < 20)
			return -EINVAL;
		if (p[10] == 4)
			*direction = CAP_OUT;
		else if (p[10] <= 2 && *direction == CAP_UNKNOWN)
			*direction = CAP_IN;
		ethertype = (uint16_t)(p[0] << 8 | p[1]);
		skip = 20;
		break;
	case CAP_LINKTYPE_NULL:
	case CAP_LINKTYPE_LOOP:
		skip = 4;
		break;
	case CAP_LINKTYPE_RAW:
	case CAP_LINKTYPE_RAW_OLD:
	case CAP_LINKTYPE_IPV4:
	case CAP_LINKTYPE_IPV6:
		skip = 0;
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	if (n <= skip)
		return -EINVAL;
	if (ethertype && ethertype != 0x0800 && ethertype != 0x86dd)
		return -ENOMSG;		/* ARP, LLDP …: not IP */
	if ((p[skip] >> 4) != 4 && (p[skip] >> 4) != 6)
		return -ENOMSG;
	*ip = p + skip;
	*len = n - skip;
	return 0;
}

bool cap_frame_src_mac(const struct cap_frame *frame, uint8_t mac[6])
{
	const uint8_t *p = frame->data;
	size_t n = frame->caplen, at;

	switch (frame->linktype) {
	case CAP_LINKTYPE_ETHERNET:
		at = 6;
		break;
	case CAP_LINKTYPE_LINUX_SLL:	/* halen at 4..5, the address from 6 */
		if (n < 16 || p[4] != 0 || p[5] != 6)
			return false;
		at = 6;
		break;
	case CAP_LINKTYPE_LINUX_SLL2:	/* halen at 11, the address from 12 */
		if (n < 20 || p[11] != 6)
			return false;
		at = 12;
		break;
	default:
		return false;
	}
	if (n < at + 6)
		return false;
	memcpy(mac, p + at, 6);
	return true;
}

bool cap_frame_truncated(const struct cap_frame *frame)
{
	return frame->caplen < frame->len;
}
