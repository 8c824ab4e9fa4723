#ifndef OUTBOXD_CMICROHTTPD_SHIM_H
#define OUTBOXD_CMICROHTTPD_SHIM_H
#include <stdint.h>
#include <stddef.h>
#include <ctype.h>
#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <microhttpd.h>

/* Decodes %XX in the path and query arguments like libmicrohttpd's default unescaper, except %00,
   which stays as it is: a decoded NUL ends the C string, so /tasks/<id>%00x would reach the handler
   as /tasks/<id> and change that task. */
static inline size_t outboxd_mhd_unescape(void *cls, struct MHD_Connection *connection, char *value) {
    (void) cls;
    (void) connection;
    static const char digits[] = "0123456789abcdef";
    char *in = value, *out = value;
    while (*in != '\0') {
        const char *high = in[0] == '%' && in[1] != '\0' ? strchr(digits, tolower((unsigned char) in[1])) : NULL;
        const char *low = high != NULL && in[2] != '\0' ? strchr(digits, tolower((unsigned char) in[2])) : NULL;
        if (low != NULL && (high != digits || low != digits)) {
            *out++ = (char) ((high - digits) << 4 | (low - digits));
            in += 3;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    return (size_t) (out - value);
}

/* MHD_start_daemon and MHD_get_daemon_info are variadic, which Swift cannot call.
   These wrappers pass the options as an MHD_OPTION_ARRAY instead. */

static inline struct MHD_Daemon *outboxd_mhd_start(unsigned int flags,
                                                   const struct sockaddr *address,
                                                   MHD_AcceptPolicyCallback accept_policy,
                                                   void *accept_policy_cls,
                                                   MHD_AccessHandlerCallback handler,
                                                   void *handler_cls,
                                                   MHD_RequestCompletedCallback completed,
                                                   void *completed_cls,
                                                   MHD_NotifyConnectionCallback connection_notify,
                                                   void *connection_notify_cls,
                                                   void *(*uri_log)(void *cls, const char *uri, struct MHD_Connection *connection),
                                                   void *uri_log_cls,
                                                   unsigned int connection_limit,
                                                   unsigned int connection_timeout_seconds,
                                                   size_t connection_memory_limit,
                                                   unsigned int listen_backlog) {
    struct MHD_OptionItem options[] = {
        { MHD_OPTION_SOCK_ADDR, 0, (void *) address },
        { MHD_OPTION_NOTIFY_COMPLETED, (intptr_t) completed, completed_cls },
        { MHD_OPTION_NOTIFY_CONNECTION, (intptr_t) connection_notify, connection_notify_cls },
        { MHD_OPTION_URI_LOG_CALLBACK, (intptr_t) uri_log, uri_log_cls },
        { MHD_OPTION_CONNECTION_LIMIT, (intptr_t) connection_limit, NULL },
        { MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t) connection_timeout_seconds, NULL },
        { MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t) connection_memory_limit, NULL },
        { MHD_OPTION_LISTEN_BACKLOG_SIZE, (intptr_t) listen_backlog, NULL },
        { MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t) outboxd_mhd_unescape, NULL },
        { MHD_OPTION_END, 0, NULL },
    };
    return MHD_start_daemon(flags, 0, accept_policy, accept_policy_cls, handler, handler_cls,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

/* MHD_get_connection_info is variadic too. */
static inline int outboxd_mhd_connection_fd(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info == NULL ? -1 : info->connect_fd;
}

static inline const struct sockaddr *outboxd_mhd_client_address(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info == NULL ? NULL : info->client_addr;
}

static inline void *outboxd_mhd_socket_context(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info == NULL ? NULL : info->socket_context;
}

static inline uint16_t outboxd_mhd_bind_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

static inline int outboxd_mhd_epoll_fd(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_EPOLL_FD);
    return info == NULL ? -1 : info->epoll_fd;
}

static inline unsigned int outboxd_mhd_current_connections(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info == NULL ? 0 : info->num_connections;
}

#endif
