#define _GNU_SOURCE
#include "fake_mysql.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct fake_mysql {
    int listen_fd;
    unsigned port;
    char plugin[64]; /* empty: a greeting without CLIENT_PLUGIN_AUTH */
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t lock;
    int busy;        /* a client is being served */
    int connections; /* since the last fake_mysql_received */
    int tls_asked;
    unsigned char *got; /* every byte clients sent since the last call */
    size_t len, cap;
};

static void record(fake_mysql *f, const unsigned char *p, size_t n)
{
    pthread_mutex_lock(&f->lock);
    if (f->len + n > f->cap) {
        f->cap = (f->len + n) * 2 + 4096;
        f->got = realloc(f->got, f->cap);
    }
    memcpy(f->got + f->len, p, n);
    f->len += n;
    pthread_mutex_unlock(&f->lock);
}

/* Reads up to cap bytes within ms milliseconds; records them. -1 at EOF or
 * timeout with nothing read. */
static ssize_t read_some(fake_mysql *f, int fd, unsigned char *buf, size_t cap, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, ms) != 1)
        return -1;
    ssize_t n = recv(fd, buf, cap, 0);
    if (n <= 0)
        return -1;
    record(f, buf, (size_t)n);
    return n;
}

/* One whole packet (3-byte length, sequence number, payload). */
static ssize_t read_packet(fake_mysql *f, int fd, unsigned char *buf, size_t cap)
{
    size_t have = 0, need = 4;
    while (have < need) {
        ssize_t n = read_some(f, fd, buf + have, (need < cap ? need : cap) - have, 3000);
        if (n < 0)
            return -1;
        have += (size_t)n;
        if (have >= 4 && need == 4)
            need = 4 + (buf[0] | buf[1] << 8 | (size_t)buf[2] << 16);
        if (need > cap)
            return -1;
    }
    return (ssize_t)(need - 4);
}

static void send_packet(int fd, unsigned seq, const unsigned char *payload, size_t n)
{
    unsigned char head[4] = {(unsigned char)n, (unsigned char)(n >> 8),
                             (unsigned char)(n >> 16), (unsigned char)seq};
    if (send(fd, head, 4, MSG_NOSIGNAL) != 4 ||
        send(fd, payload, n, MSG_NOSIGNAL) != (ssize_t)n) {
        /* the client went away: nothing more to learn */
    }
}

static size_t put(unsigned char *p, size_t o, const void *s, size_t n)
{
    memcpy(p + o, s, n);
    return o + n;
}

static void serve_client(fake_mysql *f, int fd)
{
    static const char scramble[] = "abcdefghijklmnopqrst"; /* 20 bytes */
    const int plugin_auth = f->plugin[0] != '\0';
    /* No CLIENT_SSL (0x800); CLIENT_PLUGIN_AUTH (1 << 19) unless no plugin is named. */
    const uint32_t caps = 0x1 | 0x2 | 0x4 | 0x8 | 0x80 | 0x200 | 0x2000 | 0x8000 | 1u << 16 |
                          1u << 17 | 1u << 18 | (plugin_auth ? 1u << 19 | 1u << 21 : 0);
    unsigned char g[256];
    size_t o = 0;
    g[o++] = 10;
    o = put(g, o, "5.5.5-10.11.0-MariaDB-fake", 27);
    o = put(g, o, "\x01\x00\x00\x00", 4);
    o = put(g, o, scramble, 8);
    g[o++] = 0;
    g[o++] = (unsigned char)caps;
    g[o++] = (unsigned char)(caps >> 8);
    g[o++] = 0x21;
    o = put(g, o, "\x02\x00", 2);
    g[o++] = (unsigned char)(caps >> 16);
    g[o++] = (unsigned char)(caps >> 24);
    g[o++] = plugin_auth ? 21 : 0;
    memset(g + o, 0, 10);
    o += 10;
    o = put(g, o, scramble + 8, 12);
    g[o++] = 0;
    if (plugin_auth)
        o = put(g, o, f->plugin, strlen(f->plugin) + 1);
    send_packet(fd, 0, g, o);

    unsigned char buf[65536];
    ssize_t n = read_packet(f, fd, buf, sizeof buf);
    if (n < 0)
        return;
    uint32_t client_caps = buf[4] | buf[5] << 8 | (uint32_t)buf[6] << 16 | (uint32_t)buf[7] << 24;
    if (n == 32 && (client_caps & 0x800)) {
        pthread_mutex_lock(&f->lock);
        f->tls_asked = 1;
        pthread_mutex_unlock(&f->lock);
        return; /* an SSL request: this server cannot, and hangs up */
    }
    /* Whatever the client answered, ask for the password in clear text. */
    unsigned char sw[64];
    o = 0;
    sw[o++] = 0xFE;
    o = put(sw, o, "mysql_clear_password", 21);
    o = put(sw, o, scramble, 21);
    send_packet(fd, (unsigned)buf[3] + 1, sw, o);
    n = read_packet(f, fd, buf, sizeof buf);
    unsigned seq = n >= 0 ? (unsigned)buf[3] + 1 : 4;
    static const char denied[] = "\xFF\x15\x04#28000Access denied for user";
    send_packet(fd, seq, (const unsigned char *)denied, sizeof denied - 1);
    /* Anything else the client sends is recorded too, until it hangs up. */
    while (read_some(f, fd, buf, sizeof buf, 1000) > 0) {
    }
}

static void *serve(void *arg)
{
    fake_mysql *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {f->listen_fd, POLLIN, 0};
        if (poll(&p, 1, 50) != 1)
            continue;
        int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&f->lock);
        f->busy = 1;
        f->connections++;
        pthread_mutex_unlock(&f->lock);
        serve_client(f, fd);
        close(fd);
        pthread_mutex_lock(&f->lock);
        f->busy = 0;
        pthread_mutex_unlock(&f->lock);
    }
    return NULL;
}

fake_mysql *fake_mysql_start(const char *greeting_plugin)
{
    return fake_mysql_start_on("127.0.0.1", greeting_plugin);
}

fake_mysql *fake_mysql_start_on(const char *ipv4, const char *greeting_plugin)
{
    fake_mysql *f = calloc(1, sizeof *f);
    snprintf(f->plugin, sizeof f->plugin, "%s", greeting_plugin);
    pthread_mutex_init(&f->lock, NULL);
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, ipv4, &a.sin_addr);
    socklen_t len = sizeof a;
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(f->listen_fd, 16) != 0 ||
        getsockname(f->listen_fd, (struct sockaddr *)&a, &len) != 0) {
        fprintf(stderr, "# fake_mysql: cannot listen: %s\n", strerror(errno));
        abort();
    }
    f->port = ntohs(a.sin_port);
    atomic_init(&f->stop, 0);
    pthread_create(&f->thread, NULL, serve, f);
    return f;
}

unsigned fake_mysql_port(const fake_mysql *f)
{
    return f->port;
}

int fake_mysql_received(fake_mysql *f, const char *secret, int *connections)
{
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&f->lock);
        int busy = f->busy;
        pthread_mutex_unlock(&f->lock);
        if (!busy)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&f->lock);
    int found = f->len && memmem(f->got, f->len, secret, strlen(secret)) != NULL;
    f->len = 0;
    if (connections)
        *connections = f->connections;
    f->connections = 0;
    pthread_mutex_unlock(&f->lock);
    return found;
}

int fake_mysql_tls_asked(fake_mysql *f)
{
    pthread_mutex_lock(&f->lock);
    int asked = f->tls_asked;
    f->tls_asked = 0;
    pthread_mutex_unlock(&f->lock);
    return asked;
}

void fake_mysql_stop(fake_mysql *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    pthread_mutex_destroy(&f->lock);
    free(f->got);
    free(f);
}
