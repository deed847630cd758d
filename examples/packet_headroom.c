/* packet_headroom - builds UDP packets the way network stacks do: the payload
 * is copied in first, after some headroom, and the headers are then
 * prepended in front of it, innermost first. The headroom was sized for the
 * IPv4 header alone (20 bytes) and forgets the UDP header (8): the IPv4
 * header is written 8 bytes before the block. Nothing crashes; the 8 bytes
 * belong to whatever lies before the block. With redzones on both sides of
 * every block (MEMTYPE_REDZONE, or --redzone) the write lands in the
 * block's front redzone, and memtype reports it when the packet is freed:
 *
 *   build/bin/memtype run --profile --redzone -- build/bin/packet_headroom
 *   build/bin/memtype report --errors memtype-run.packet_headroom.1/\*.mtd */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IP_HEADER 20
#define UDP_HEADER 8
#define HEADROOM IP_HEADER /* BUG: IP_HEADER + UDP_HEADER */

typedef struct packet {
  char *buf;  /* the block: headroom, then the payload */
  char *head; /* the first byte of the packet as built so far */
  size_t len; /* bytes from head */
} packet_t;

__attribute__((noinline)) static packet_t new_packet(const char *payload, size_t n) {
  packet_t p = {malloc(HEADROOM + n), NULL, n};
  if (p.buf) {
    p.head = p.buf + HEADROOM;
    memcpy(p.head, payload, n);
  }
  return p;
}

/* Puts a header of hlen bytes in front of the packet (no bounds check: the
 * headroom is supposed to be enough), byte by byte as a checksumming copy
 * would. */
__attribute__((noinline)) static void prepend(packet_t *p, const uint8_t *hdr, size_t hlen) {
  p->head -= hlen;
  p->len += hlen;
  for (size_t k = 0; k < hlen; k++)
    p->head[k] = (char)hdr[k];
}

int main(void) {
  static const char *const msgs[] = {"temperature=21.5C sensor=attic battery=83%",
                                     "temperature=19.0C sensor=cellar battery=61%"};
  unsigned long sum = 0;
  for (int i = 0; i < 2; i++) {
    packet_t p = new_packet(msgs[i], strlen(msgs[i]));
    if (p.buf == NULL)
      return 1;
    uint8_t udp[UDP_HEADER] = {0x30, 0x39, 0x00, 0x35}, ip[IP_HEADER] = {0x45};
    prepend(&p, udp, sizeof(udp));
    prepend(&p, ip, sizeof(ip)); /* 8 bytes before p.buf */
    for (size_t k = 0; k < p.len; k++)
      sum += (uint8_t)p.head[k];
    free(p.buf);
  }
  printf("checksum %lu\n", sum);
  return 0;
}
