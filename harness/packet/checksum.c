/* The Internet checksum (RFC 1071) and the pseudo header sums of TCP, UDP and ICMPv6. */
#include <sys/socket.h>

#include "packet/packet.h"
#include "packet/internal.h"

uint32_t inet_sum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *bytes = data;
	uint64_t total = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		total += (uint32_t)(bytes[i] << 8 | bytes[i + 1]);
	if (len & 1)
		total += (uint32_t)bytes[len - 1] << 8;
	while (total >> 16)
		total = (total & 0xffff) + (total >> 16);
	return (uint32_t)total;
}

uint16_t inet_checksum(const void *data, size_t len, uint32_t sum)
{
	return (uint16_t)~inet_sum(data, len, sum);
}

uint32_t pseudo_header_sum(int family, const union inet_addr *src,
			   const union inet_addr *dst, uint8_t protocol,
			   size_t l4_len)
{
	uint8_t tail[8] = { 0 };
	uint32_t sum;

	if (family == AF_INET) {
		sum = inet_sum(&src->v4, sizeof(src->v4), 0);
		sum = inet_sum(&dst->v4, sizeof(dst->v4), sum);
		tail[1] = protocol;
		put_be16(tail + 2, (uint16_t)l4_len);
		return inet_sum(tail, 4, sum);
	}
	sum = inet_sum(&src->v6, sizeof(src->v6), 0);
	sum = inet_sum(&dst->v6, sizeof(dst->v6), sum);
	put_be32(tail, (uint32_t)l4_len);
	tail[7] = protocol;
	return inet_sum(tail, 8, sum);
}
