/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_BACKEND_VSOCK_UNIX_H
#define DEVISOR_BACKEND_VSOCK_UNIX_H

/*
 * The host side of virtio-vsock's socket back-end (`--vsock
 * cid=N,socket=PATH`), the protocol of Firecracker and Cloud Hypervisor:
 *
 * - host-initiated: a host program connects to PATH and writes
 *   "CONNECT <port>\n"; once the guest accepts, it reads
 *   "OK <assigned_host_port>\n", then the stream is the guest's;
 * - guest-initiated: a guest connection to the host (CID 2) on port P
 *   becomes a connection to the UNIX socket PATH_P, which a host program
 *   listens on.
 *
 * This file knows the names and the handshake only; the device
 * (virtio/vsock.c) owns the sockets once they are made. Every socket is
 * non-blocking and close-on-exec.
 */
#include <stddef.h>
#include <stdint.h>

/* Longest handshake line we read: "CONNECT 4294967295\n" and some slack. */
#define VSOCK_UNIX_LINE_MAX 32

struct vsock_unix;

/*
 * Listens on @path, replacing a stale socket file (nobody accepts on it);
 * a path in use, or a file that is not a socket, is an error (logged).
 * NULL on error.
 */
struct vsock_unix *vsock_unix_open(const char *path);
/* Closes the listener and removes the socket file. */
void vsock_unix_close(struct vsock_unix *u);

/* The listening socket, for the device's poll set. */
int vsock_unix_listen_fd(const struct vsock_unix *u);
/* A new host connection, or -errno (-EAGAIN: none waiting). */
int vsock_unix_accept(struct vsock_unix *u);
/*
 * A connection to PATH_@port for a guest-initiated stream, or -errno:
 * -ENAMETOOLONG, -ENOENT/-ECONNREFUSED (nobody listens), -EAGAIN (the
 * listener's backlog is full).
 */
int vsock_unix_connect(struct vsock_unix *u, uint32_t port);

/*
 * The handshake line in @buf[0..@len): 0 with *@port when it is
 * "CONNECT <port>\n" (decimal, 32 bits, no sign, no leading spaces but
 * one after CONNECT); -EAGAIN when no newline has come yet and @len is
 * under VSOCK_UNIX_LINE_MAX; -EINVAL for anything else. *@used is the
 * line's length with its newline.
 */
int vsock_unix_parse_connect(const char *buf, size_t len, uint32_t *port,
			     size_t *used);

#endif
