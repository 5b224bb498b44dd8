/* Unit tests for capfile: captures as ctlab, tcpdump and Wireshark write them, and hostile ones. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "observe/observe.h"
#include "packet/packet.h"
#include "suite.h"

static size_t build_syn(int family, uint8_t *buf, size_t size)
{
	struct tcp_spec spec;
	ssize_t len;

	tcp_spec_init(&spec, family);
	if (family == AF_INET) {
		inet_pton(AF_INET, "198.18.0.1", &spec.src.v4);
		inet_pton(AF_INET, "198.18.0.2", &spec.dst.v4);
	} else {
		inet_pton(AF_INET6, "2001:db8::1", &spec.src.v6);
		inet_pton(AF_INET6, "2001:db8::2", &spec.dst.v6);
	}
	spec.sport = 40000;
	spec.dport = 80;
	spec.flags = TCP_FLAG_SYN;
	len = packet_build_tcp(&spec, buf, size);
	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

/* A file of @len bytes to read back. */
static FILE *file_of(const void *data, size_t len)
{
	FILE *f = tmpfile();

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	rewind(f);
	return f;
}

/* ctlab's own pcapng (LINUX_SLL2, if_name, nanoseconds, epb_flags) comes back packet for packet. */
START_TEST(reads_ctlab_pcapng)
{
	struct timespec t1 = { 1700000000, 123456789 }, t2 = { 1700000001, 5 };
	char path[] = "/tmp/ctlab-capfile-XXXXXX", err[256];
	uint8_t syn4[128], syn6[128];
	size_t len4 = build_syn(AF_INET, syn4, sizeof(syn4)), len6 = build_syn(AF_INET6, syn6, sizeof(syn6));
	struct wire *wire = wire_open(NULL, NULL, 0, err, sizeof(err));
	enum cap_direction direction;
	struct cap_frame frame;
	struct capfile *c;
	const uint8_t *ip;
	size_t ip_len;
	int fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_ptr_nonnull(wire);
	ck_assert_int_eq(wire_add(wire, "client", "eth0", true, &t1, syn4, len4), 0);
	ck_assert_int_eq(wire_add(wire, "router", "eth1", false, &t2, syn6, len6), 0);
	unlink(path);
	ck_assert_int_eq(wire_write_pcapng(wire, path, NULL), 0);
	wire_free(wire);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	c = capfile_open(f, err, sizeof(err));
	ck_assert_msg(c, "%s", err);

	ck_assert_int_eq(capfile_next(c, &frame), 1);
	ck_assert_uint_eq(frame.linktype, CAP_LINKTYPE_LINUX_SLL2);
	ck_assert_uint_eq(frame.ts_ns, 1700000000123456789ull);
	ck_assert_str_eq(frame.ifname, "client/eth0");
	ck_assert_int_eq(frame.direction, CAP_OUT);
	ck_assert(!cap_frame_truncated(&frame));
	ck_assert_int_eq(cap_frame_ip(&frame, &ip, &ip_len, &direction), 0);
	ck_assert_int_eq(direction, CAP_OUT);
	ck_assert_uint_eq(ip_len, len4);
	ck_assert_mem_eq(ip, syn4, len4);

	ck_assert_int_eq(capfile_next(c, &frame), 1);
	ck_assert_str_eq(frame.ifname, "router/eth1");
	ck_assert_int_eq(cap_frame_ip(&frame, &ip, &ip_len, &direction), 0);
	ck_assert_int_eq(direction, CAP_IN);
	ck_assert_uint_eq(ip_len, len6);
	ck_assert_mem_eq(ip, syn6, len6);
	ck_assert_uint_eq(frame.ts_ns, 1700000001000000005ull);

	ck_assert_int_eq(capfile_next(c, &frame), 0);
	capfile_close(c);
	fclose(f);
	unlink(path);
}
END_TEST

static void put32(uint8_t *p, uint32_t v, bool swap)
{
	if (swap)
		v = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
	memcpy(p, &v, 4);
}

/* A classic pcap of one Ethernet frame (with a VLAN tag), in either byte order. */
static size_t classic_pcap(uint8_t *out, bool swap, bool nanoseconds, const uint8_t *ip, size_t ip_len,
			   uint32_t caplen_lie)
{
	static const uint8_t ether[] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0, 0, 7, 0x08, 0 };
	size_t frame_len = sizeof(ether) + ip_len;

	put32(out, nanoseconds ? 0xa1b23c4du : 0xa1b2c3d4u, swap);
	put32(out + 4, swap ? 0x02000400u : 0x00040002u, false);	/* version 2.4 */
	put32(out + 8, 0, swap);
	put32(out + 12, 0, swap);
	put32(out + 16, 65535, swap);
	put32(out + 20, CAP_LINKTYPE_ETHERNET, swap);
	put32(out + 24, 1700000000, swap);
	put32(out + 28, 250, swap);
	put32(out + 32, caplen_lie ? caplen_lie : (uint32_t)frame_len, swap);
	put32(out + 36, (uint32_t)frame_len, swap);
	memcpy(out + 40, ether, sizeof(ether));
	memcpy(out + 40 + sizeof(ether), ip, ip_len);
	return 40 + frame_len;
}

START_TEST(reads_classic_pcap_both_orders)
{
	uint8_t syn[128], file[512];
	size_t len = build_syn(AF_INET, syn, sizeof(syn));
	enum cap_direction direction;
	struct cap_frame frame;
	const uint8_t *ip;
	size_t ip_len;
	char err[256];

	for (int swap = 0; swap < 2; swap++) {
		size_t n = classic_pcap(file, swap, swap, syn, len, 0);
		FILE *f = file_of(file, n);
		struct capfile *c = capfile_open(f, err, sizeof(err));

		ck_assert_msg(c, "%s", err);
		ck_assert_int_eq(capfile_next(c, &frame), 1);
		ck_assert_uint_eq(frame.linktype, CAP_LINKTYPE_ETHERNET);
		ck_assert_uint_eq(frame.ts_ns, 1700000000000000000ull + (swap ? 250 : 250000));
		ck_assert_ptr_null(frame.ifname);
		ck_assert_int_eq(cap_frame_ip(&frame, &ip, &ip_len, &direction), 0);
		ck_assert_int_eq(direction, CAP_UNKNOWN);
		ck_assert_uint_eq(ip_len, len);
		ck_assert_mem_eq(ip, syn, len);
		ck_assert_int_eq(capfile_next(c, &frame), 0);
		capfile_close(c);
		fclose(f);
	}
}
END_TEST

/* The Linux cooked headers give the direction; loopback and raw need none. */
START_TEST(link_types)
{
	uint8_t syn[128], frame_buf[256];
	size_t len = build_syn(AF_INET6, syn, sizeof(syn));
	struct cap_frame frame = { .data = frame_buf };
	enum cap_direction direction;
	static const uint8_t arp_ether[] = { 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x08, 0x06, 0, 1 };
	const uint8_t *ip;
	size_t ip_len;

	/* SLL: packet type 4 (outgoing), protocol at 14 */
	memset(frame_buf, 0, 16);
	frame_buf[1] = 4;
	frame_buf[14] = 0x86;
	frame_buf[15] = 0xdd;
	memcpy(frame_buf + 16, syn, len);
	frame.linktype = CAP_LINKTYPE_LINUX_SLL;
	frame.caplen = frame.len = 16 + len;
	ck_assert_int_eq(cap_frame_ip(&frame, &ip, &ip_len, &direction), 0);
	ck_assert_int_eq(direction, CAP_OUT);
	ck_assert_uint_eq(ip_len, len);
	ck_assert_mem_eq(ip, syn, len);
	/* SLL2: protocol first, packet type 0 (to us) at 10 */
	memset(frame_buf, 0, 20);
	frame_buf[0] = 0x86;
	frame_buf[1] = 0xdd;
	memcpy(frame_buf + 20, syn, len);
	frame.linktype = CAP_LINKTYPE_LINUX_SLL2;
	frame.caplen = frame.len = 20 + len;
	ck_assert_int_eq(cap_frame_ip(&frame, &ip, &ip_len, &direction), 0);
	ck_assert_int_eq(direction, CAP_IN);
	ck_assert_mem_eq(ip, syn, len);
	/* raw and loopback */
	frame.linktype = CAP_LINKTYPE_RAW;
	frame.data = syn;
	frame.caplen = frame.len = len;
	ck_assert_int_eq(cap_frame_ip(&frame, &ip, &ip_len, &direction), 0);
	ck_assert_ptr_eq(ip, syn);
	memset(frame_buf, 0, 4);
	frame_buf[0] = 30;
	memcpy(frame_buf + 4, syn, len);
	frame.data = frame_buf;
	frame.linktype = CAP_LINKTYPE_NULL;
	frame.caplen = frame.len = 4 + len;
	ck_assert_int_eq(cap_frame_ip(&frame, &ip, &ip_len, &direction), 0);
	ck_assert_uint_eq(ip_len, len);
	/* not IP, too short, an unknown link type */
	frame.data = arp_ether;
	frame.linktype = CAP_LINKTYPE_ETHERNET;
	frame.caplen = frame.len = sizeof(arp_ether);
	ck_assert_int_eq(cap_frame_ip(&frame, &ip, &ip_len, &direction), -ENOMSG);
	frame.caplen = 10;
	ck_assert_int_eq(cap_frame_ip(&frame, &ip, &ip_len, &direction), -EINVAL);
	frame.linktype = 147;	/* a user DLT */
	ck_assert_int_eq(cap_frame_ip(&frame, &ip, &ip_len, &direction), -EPROTONOSUPPORT);
}
END_TEST

/* The source MAC: Ethernet's, the cooked headers' when six bytes long; none
 * in raw IP or a frame too short for it. */
START_TEST(source_macs)
{
	static const uint8_t ether[14] = { 1, 1, 1, 1, 1, 1, 2, 0, 0, 0, 0, 9, 0x08, 0x00 };
	uint8_t sll[20] = { 0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 7 }, sll2[20] = { 0 }, mac[6];
	struct cap_frame frame = { .data = ether, .caplen = sizeof(ether),
				   .linktype = CAP_LINKTYPE_ETHERNET };

	ck_assert(cap_frame_src_mac(&frame, mac));
	ck_assert_uint_eq(mac[0], 2);
	ck_assert_uint_eq(mac[5], 9);
	frame.caplen = 11;
	ck_assert(!cap_frame_src_mac(&frame, mac));
	frame = (struct cap_frame){ .data = sll, .caplen = 16, .linktype = CAP_LINKTYPE_LINUX_SLL };
	ck_assert(cap_frame_src_mac(&frame, mac));
	ck_assert_uint_eq(mac[5], 7);
	sll[5] = 0;	/* no link address (a tunnel, the loopback) */
	ck_assert(!cap_frame_src_mac(&frame, mac));
	sll2[11] = 6;
	sll2[17] = 5;
	frame = (struct cap_frame){ .data = sll2, .caplen = 20, .linktype = CAP_LINKTYPE_LINUX_SLL2 };
	ck_assert(cap_frame_src_mac(&frame, mac));
	ck_assert_uint_eq(mac[5], 5);
	frame.caplen = 19;
	ck_assert(!cap_frame_src_mac(&frame, mac));
	frame.linktype = CAP_LINKTYPE_RAW;
	frame.caplen = 20;
	ck_assert(!cap_frame_src_mac(&frame, mac));
}
END_TEST

/* A snap length shows as caplen < len, and the IP packet is what was kept. */
START_TEST(truncated_frames_say_so)
{
	uint8_t syn[128], file[512];
	size_t len = build_syn(AF_INET, syn, sizeof(syn));
	size_t n = classic_pcap(file, false, false, syn, len, 0);
	struct cap_frame frame;
	char err[256];
	FILE *f;
	struct capfile *c;

	/* caplen 30 of a 58-byte frame: the record holds 30 bytes */
	put32(file + 32, 30, false);
	f = file_of(file, 40 + 30);
	c = capfile_open(f, err, sizeof(err));
	ck_assert_msg(c, "%s", err);
	ck_assert_int_eq(capfile_next(c, &frame), 1);
	ck_assert(cap_frame_truncated(&frame));
	ck_assert_uint_eq(frame.caplen, 30);
	ck_assert_uint_eq(frame.len, n - 40);
	capfile_close(c);
	fclose(f);
}
END_TEST

/* Broken and hostile files: a clear error with the byte where it is, never a crash. */
START_TEST(hostile_files)
{
	static const uint8_t junk[] = "GIF89a not a capture";
	static const uint8_t shb_only[] = { 0x0a, 0x0d, 0x0d, 0x0a };
	uint8_t syn[128], file[512], pcapng[64];
	size_t len = build_syn(AF_INET, syn, sizeof(syn)), n;
	struct cap_frame frame;
	char err[256];
	struct capfile *c;
	FILE *f;

	f = file_of(junk, sizeof(junk));
	ck_assert_ptr_null(capfile_open(f, err, sizeof(err)));
	ck_assert_msg(strstr(err, "not a pcap or pcapng file"), "%s", err);
	fclose(f);
	f = file_of(junk, 0);
	ck_assert_ptr_null(capfile_open(f, err, sizeof(err)));
	fclose(f);

	/* a record claiming 4 GB */
	n = classic_pcap(file, false, false, syn, len, 0xfffffff0u);
	f = file_of(file, n);
	c = capfile_open(f, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(capfile_next(c, &frame), -1);
	ck_assert_msg(strstr(capfile_error(c), "byte 32: a record claims"), "%s", capfile_error(c));
	capfile_close(c);
	fclose(f);
	/* a file cut inside its record */
	n = classic_pcap(file, false, false, syn, len, 0);
	f = file_of(file, n - 5);
	c = capfile_open(f, err, sizeof(err));
	ck_assert_int_eq(capfile_next(c, &frame), -1);
	ck_assert_msg(strstr(capfile_error(c), "the file ends inside a record"), "%s", capfile_error(c));
	capfile_close(c);
	fclose(f);

	/* pcapng: only a magic; a section header with a bogus length; a block of 7 bytes */
	f = file_of(shb_only, sizeof(shb_only));
	c = capfile_open(f, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(capfile_next(c, &frame), -1);
	capfile_close(c);
	fclose(f);
	memset(pcapng, 0, sizeof(pcapng));
	put32(pcapng, 0x0a0d0d0au, false);
	put32(pcapng + 4, 0x7fffffff, false);
	put32(pcapng + 8, 0x1a2b3c4du, false);
	f = file_of(pcapng, 28);
	c = capfile_open(f, err, sizeof(err));
	ck_assert_int_eq(capfile_next(c, &frame), -1);
	ck_assert_msg(strstr(capfile_error(c), "a section header of"), "%s", capfile_error(c));
	capfile_close(c);
	fclose(f);
	put32(pcapng + 4, 28, false);
	put32(pcapng + 24, 28, false);
	put32(pcapng + 28, 6, false);	/* an EPB … */
	put32(pcapng + 32, 7, false);	/* … of 7 bytes */
	f = file_of(pcapng, 40);
	c = capfile_open(f, err, sizeof(err));
	ck_assert_int_eq(capfile_next(c, &frame), -1);
	ck_assert_msg(strstr(capfile_error(c), "byte 32: a block of 7 bytes"), "%s", capfile_error(c));
	capfile_close(c);
	fclose(f);
	/* a packet on an interface the section never described */
	put32(pcapng + 32, 36, false);
	memset(pcapng + 36, 0, 28);
	put32(pcapng + 36, 3, false);	/* interface 3 */
	put32(pcapng + 60, 36, false);
	f = file_of(pcapng, 64);
	c = capfile_open(f, err, sizeof(err));
	ck_assert_int_eq(capfile_next(c, &frame), -1);
	ck_assert_msg(strstr(capfile_error(c), "a packet on interface 3 of 0"), "%s", capfile_error(c));
	capfile_close(c);
	fclose(f);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("capfile");
	TCase *tc = tcase_create("capfile");

	tcase_add_test(tc, reads_ctlab_pcapng);
	tcase_add_test(tc, reads_classic_pcap_both_orders);
	tcase_add_test(tc, link_types);
	tcase_add_test(tc, source_macs);
	tcase_add_test(tc, truncated_frames_say_so);
	tcase_add_test(tc, hostile_files);
	suite_add_tcase(suite, tc);
	return suite_main(suite);
}
