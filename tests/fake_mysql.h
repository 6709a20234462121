/* A hostile MySQL server on loopback, for the tests of what the client gives
 * away: it greets with a protocol 10 handshake that offers no TLS (no
 * CLIENT_SSL), then asks for the password in clear text (an auth switch to
 * mysql_clear_password, or that plugin named in the greeting itself), and
 * records every byte each client sends. It answers every login with
 * "Access denied". */
#ifndef DEMOGRAPHER_FAKE_MYSQL_H
#define DEMOGRAPHER_FAKE_MYSQL_H

#include <stddef.h>

typedef struct fake_mysql fake_mysql;

/* greeting_plugin: the plugin the greeting names ("mysql_native_password"
 * then a switch to mysql_clear_password, or "mysql_clear_password" at once),
 * or "" for a greeting of the old protocol, without CLIENT_PLUGIN_AUTH (which
 * still switches to mysql_clear_password). */
fake_mysql *fake_mysql_start(const char *greeting_plugin);
/* The same on another address of this machine (an IPv4 address). */
fake_mysql *fake_mysql_start_on(const char *ipv4, const char *greeting_plugin);
unsigned fake_mysql_port(const fake_mysql *f);
/* Waits (up to 5 s) for the connections accepted so far to end, then returns
 * whether the bytes clients sent since the last call hold `secret`, and
 * forgets them. *connections tells how many clients connected. */
int fake_mysql_received(fake_mysql *f, const char *secret, int *connections);
/* Whether any client asked for TLS (sent an SSL request). */
int fake_mysql_tls_asked(fake_mysql *f);
void fake_mysql_stop(fake_mysql *f);

#endif
