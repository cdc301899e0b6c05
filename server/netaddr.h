/*
 * Socket address helpers shared by the client API and the Raft transport.
 */
#ifndef KLAXON_NETADDR_H
#define KLAXON_NETADDR_H

#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

/* Parse "IP:port" (IPv4, or IPv6 in brackets) without name resolution.
 * 0, or -1 if the host is not an IP address or the port is invalid. */
int netaddr_parse_ip(const char *addr, struct sockaddr_storage *ss);

/* "ip:port" of the peer of a connected TCP handle ("?:0" if unknown). */
void netaddr_peer_name(uv_tcp_t *tcp, char *buf, size_t len);

#endif /* KLAXON_NETADDR_H */
