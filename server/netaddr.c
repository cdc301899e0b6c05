#include "netaddr.h"

#include <netinet/in.h>
#include <stdio.h>

#include "config.h"

int netaddr_parse_ip(const char *addr, struct sockaddr_storage *ss)
{
    char host[CONFIG_ADDR_MAX];
    unsigned port;

    if (config_split_address(addr, host, sizeof host, &port) != 0) {
        return -1;
    }
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0 ||
        uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0) {
        return 0;
    }
    return -1;
}

void netaddr_peer_name(uv_tcp_t *tcp, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    int n = sizeof ss;
    char ip[64] = "?";
    int port = 0;

    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &n) == 0) {
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        }
    }
    snprintf(buf, len, "%s:%d", ip, port);
}
