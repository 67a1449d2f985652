/*
 * SO_ORIGINAL_DST for Node: the destination a connection had before iptables' REDIRECT sent it
 * to the proxy's capture port, read from the connection's conntrack entry with getsockopt, which
 * Node does not expose. One function, originalDestination(fd), returning
 * {address, port, family} or null when the connection was not redirected (no conntrack entry);
 * any other failure throws an Error whose code is the errno name.
 *
 * IPv4 (SOL_IP) and IPv6 (SOL_IPV6, ip6tables' IP6T_SO_ORIGINAL_DST); an IPv4 connection accepted
 * on a dual-stack socket is IPv4-mapped and asked at SOL_IP, as the kernel tracks it there.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h; both are 80. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

static napi_value throw_errno(napi_env env, const char *call, int err) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", call, strerror(err));
  const char *code = err == EBADF ? "EBADF" : err == ENOTSOCK ? "ENOTSOCK" : err == ENOPROTOOPT ? "ENOPROTOOPT" : err == EINVAL ? "EINVAL" : "EIO";
  napi_throw_error(env, code, message);
  return NULL;
}

static napi_value result(napi_env env, const char *address, unsigned port, int family) {
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "address", v);
  napi_create_uint32(env, port, &v);
  napi_set_named_property(env, obj, "port", v);
  napi_create_uint32(env, (uint32_t)family, &v);
  napi_set_named_property(env, obj, "family", v);
  return obj;
}

static napi_value original_destination(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "originalDestination(fd): fd must be a socket's file descriptor");
    return NULL;
  }

  struct sockaddr_storage local;
  socklen_t len = sizeof local;
  if (getsockname(fd, (struct sockaddr *)&local, &len) != 0) return throw_errno(env, "getsockname", errno);
  int v6 = local.ss_family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&local)->sin6_addr);

  char text[INET6_ADDRSTRLEN];
  if (v6) {
    struct sockaddr_in6 dst;
    socklen_t dlen = sizeof dst;
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &dst, &dlen) != 0) {
      if (errno == ENOENT) { napi_value n; napi_get_null(env, &n); return n; }
      return throw_errno(env, "getsockopt(IP6T_SO_ORIGINAL_DST)", errno);
    }
    inet_ntop(AF_INET6, &dst.sin6_addr, text, sizeof text);
    return result(env, text, ntohs(dst.sin6_port), 6);
  }
  struct sockaddr_in dst;
  socklen_t dlen = sizeof dst;
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &dlen) != 0) {
    if (errno == ENOENT) { napi_value n; napi_get_null(env, &n); return n; }
    return throw_errno(env, "getsockopt(SO_ORIGINAL_DST)", errno);
  }
  inet_ntop(AF_INET, &dst.sin_addr, text, sizeof text);
  return result(env, text, ntohs(dst.sin_port), 4);
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  napi_create_function(env, "originalDestination", NAPI_AUTO_LENGTH, original_destination, NULL, &fn);
  napi_set_named_property(env, exports, "originalDestination", fn);
  return exports;
}
