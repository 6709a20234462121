#include "demographer/source_mysql.h"

#include "source_rows.h"

#include <mysql.h>
#include <mysql/plugin_auth.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- configuration ------------------------------------------------------ */

static const char *const tls_names[] = {"disabled", "preferred", "required", "verify_identity",
                                        "default"};

int dg_tls_mode_parse(const char *s, dg_tls_mode *out)
{
    char norm[32];
    size_t n = strlen(s);
    if (n >= sizeof norm)
        return DG_ERR;
    for (size_t i = 0; i <= n; i++)
        norm[i] = s[i] == '-' ? '_' : (char)tolower((unsigned char)s[i]);
    for (int m = 0; m <= DG_TLS_DEFAULT; m++)
        if (strcmp(norm, tls_names[m]) == 0) {
            *out = (dg_tls_mode)m;
            return DG_OK;
        }
    return DG_ERR;
}

const char *dg_tls_mode_name(dg_tls_mode m)
{
    return (unsigned)m <= DG_TLS_DEFAULT ? tls_names[m] : "?";
}

void dg_mysql_config_init(dg_mysql_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->host, sizeof c->host, "127.0.0.1");
    c->port = 3306;
    snprintf(c->database, sizeof c->database, "mlctest");
    c->tls = DG_TLS_DEFAULT;
    c->connect_timeout = 10;
    c->read_timeout = 120;
}

/* Whether host names this machine: "localhost", an IPv4 address in
 * 127.0.0.0/8 or ::1. Names other than localhost are not resolved: a name
 * is a remote host. */
static int loopback_host(const char *host)
{
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return 1;
    struct in_addr a;
    return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

dg_tls_mode dg_mysql_tls_effective(const dg_mysql_config *c)
{
    if (c->tls != DG_TLS_DEFAULT)
        return c->tls;
    return loopback_host(c->host) ? DG_TLS_PREFERRED : DG_TLS_REQUIRED;
}

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void dg_mysql_config_free(dg_mysql_config *c)
{
    wipe_free(c->password);
    c->password = NULL;
}

void dg_mysql_config_set_password(dg_mysql_config *c, const char *password)
{
    wipe_free(c->password);
    c->password = password ? dg_xstrdup(password) : NULL;
}

int dg_mysql_check_private(const char *path, const struct stat *st, const char *what,
                           dg_err *err)
{
    uid_t me = geteuid();
    unsigned mode = (unsigned)(st->st_mode & 0777);
    if (st->st_uid != me) {
        char owner[64], mine[64];
        struct passwd pwbuf, *pw = NULL;
        char buf[1024];
        if (getpwuid_r(st->st_uid, &pwbuf, buf, sizeof buf, &pw) == 0 && pw)
            snprintf(owner, sizeof owner, "uid %u (%.40s)", (unsigned)st->st_uid, pw->pw_name);
        else
            snprintf(owner, sizeof owner, "uid %u", (unsigned)st->st_uid);
        pw = NULL;
        if (getpwuid_r(me, &pwbuf, buf, sizeof buf, &pw) == 0 && pw)
            snprintf(mine, sizeof mine, "%.40s", pw->pw_name);
        else
            snprintf(mine, sizeof mine, "%u", (unsigned)me);
        char also[64] = "";
        if (mode & 077)
            snprintf(also, sizeof also, "; others can read it too (mode %03o): chmod 600", mode);
        return dg_fail(err,
                       "%s: refusing a %s owned by %s, not by you (uid %u): as root, chown %s "
                       "'%s' makes it yours%s; or use a copy of your own",
                       path, what, owner, (unsigned)me, mine, path, also);
    }
    if (mode & 077)
        return dg_fail(err,
                       "%s: refusing a %s that others can read (mode %03o; run chmod 600 on "
                       "it)",
                       path, what, mode);
    return DG_OK;
}

int dg_mysql_password_from_file(dg_mysql_config *c, const char *path, dg_err *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return dg_fail(err, "%s: cannot open the password file: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dg_fail(err, "%s: the password file is not a regular file", path);
    }
    /* Checked on the open file, not the name, so that it cannot be swapped in
     * between. */
    if (dg_mysql_check_private(path, &st, "password file", err) != DG_OK) {
        close(fd);
        return DG_ERR;
    }
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return dg_fail(err, "%s: cannot read the password file: %s", path, strerror(errno));
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    dg_mysql_config_set_password(c, buf);
    explicit_bzero(buf, sizeof buf);
    return DG_OK;
}

/* ---- connection ---------------------------------------------------------- */

/* What LOAD DATA LOCAL INFILE reads while an import runs (see import_table). */
typedef struct infile_feed infile_feed;

struct dg_mysql {
    MYSQL *conn;
    char where[300]; /* host:port */
    char db[65];
    infile_feed *feed; /* set only while an import statement runs */
};

/* ---- no password in clear text -------------------------------------------
 *
 * Connector/C 3.3 starts TLS with MYSQL_OPT_SSL_ENFORCE only when the server
 * offers it, and otherwise goes on in plain text into authentication (it
 * fails early only when the certificate is verified); and it runs whatever
 * authentication plugin the server asks for, mysql_clear_password included,
 * with or without TLS. So:
 *   - an attempt that wants TLS authenticates first with tls_gate, a plugin
 *     of ours: it sends the handshake response with no password in it (that
 *     write is where the library starts TLS), then fails unless TLS is up.
 *     Only then does the server get to name the account's plugin;
 *   - an attempt without TLS allows only the plugins that never send the
 *     password itself (MARIADB_OPT_RESTRICTED_AUTH): a server asking for
 *     mysql_clear_password or dialog (PAM) is refused before it gets it;
 *   - mysql_clear_password is our own (Debian ships it as a loadable
 *     plugin, and a registered one is found first): it sends the password
 *     only over TLS. That covers the one path the gate cannot: a server
 *     whose greeting lacks CLIENT_PLUGIN_AUTH, which the library answers
 *     with mysql_native_password (a hash, not the password) before any
 *     plugin of ours runs, and which may then switch to clear text. PAM's
 *     dialog is not allowed at all. */

/* What <mysql/client_plugin.h> declares for an authentication plugin: that
 * header includes <ma_compress.h>, which Debian's libmariadb-dev does not
 * ship, so its declarations are repeated here (Connector/C 3.3's layout). */
#define MYSQL_CLIENT_AUTHENTICATION_PLUGIN 2
#define MYSQL_CLIENT_AUTHENTICATION_PLUGIN_INTERFACE_VERSION 0x0100
struct st_mysql_client_plugin;
struct auth_plugin {
    int type;
    unsigned int interface_version;
    const char *name, *author, *desc;
    unsigned int version[3];
    const char *license;
    void *mysql_api;
    int (*init)(char *, size_t, int, va_list);
    int (*deinit)(void);
    int (*options)(const char *option, const void *);
    int (*authenticate_user)(MYSQL_PLUGIN_VIO *vio, MYSQL *mysql);
};
struct st_mysql_client_plugin *STDCALL
mysql_client_register_plugin(MYSQL *mysql, struct st_mysql_client_plugin *plugin);

#define TLS_GATE_PLUGIN "dg_tls_gate"
static const char plain_text_plugins[] = "mysql_native_password,client_ed25519";
/* With TLS asked for: also the plugins that need it (caching_sha2_password
 * and sha256_password fall back to RSA without it, never to clear text). */
static const char tls_plugins[] = TLS_GATE_PLUGIN ",mysql_native_password,client_ed25519,"
                                  "caching_sha2_password,sha256_password,mysql_clear_password";

static int refuse_clear_text(MYSQL *mysql)
{
    mysql->net.last_errno = CR_PLUGIN_NOT_ALLOWED;
    snprintf(mysql->net.last_error, sizeof mysql->net.last_error,
             "mysql_clear_password without TLS");
    snprintf(mysql->net.sqlstate, sizeof mysql->net.sqlstate, "HY000");
    return CR_ERROR;
}

static int clear_password_over_tls(MYSQL_PLUGIN_VIO *vio, MYSQL *mysql)
{
    if (!mysql_get_ssl_cipher(mysql))
        return refuse_clear_text(mysql);
    const char *pw = mysql->passwd ? mysql->passwd : "";
    if (vio->write_packet(vio, (const unsigned char *)pw, (int)strlen(pw) + 1) != 0)
        return CR_ERROR;
    return CR_OK;
}

static int tls_gate(MYSQL_PLUGIN_VIO *vio, MYSQL *mysql)
{
    if (vio->write_packet(vio, (const unsigned char *)"", 0) != 0)
        return CR_ERROR;
    if (mysql_get_ssl_cipher(mysql))
        return CR_OK; /* the server now names the account's plugin, over TLS */
    mysql->net.last_errno = CR_SSL_CONNECTION_ERROR;
    snprintf(mysql->net.last_error, sizeof mysql->net.last_error, "the server offers no TLS");
    snprintf(mysql->net.sqlstate, sizeof mysql->net.sqlstate, "HY000");
    return CR_ERROR;
}

static struct auth_plugin tls_gate_plugin = {
    MYSQL_CLIENT_AUTHENTICATION_PLUGIN,
    MYSQL_CLIENT_AUTHENTICATION_PLUGIN_INTERFACE_VERSION,
    TLS_GATE_PLUGIN,
    "demographer",
    "sends no password; fails unless TLS is up",
    {1, 0, 0},
    "none",
    NULL,
    NULL,
    NULL,
    NULL,
    tls_gate,
};

static struct auth_plugin clear_password_plugin = {
    MYSQL_CLIENT_AUTHENTICATION_PLUGIN,
    MYSQL_CLIENT_AUTHENTICATION_PLUGIN_INTERFACE_VERSION,
    "mysql_clear_password",
    "demographer",
    "the password in clear text, over TLS only",
    {1, 0, 0},
    "none",
    NULL,
    NULL,
    NULL,
    NULL,
    clear_password_over_tls,
};

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_ok;

static void library_init(void)
{
    library_ok = mysql_library_init(0, NULL, NULL) == 0;
    if (!library_ok)
        return;
    MYSQL *tmp = mysql_init(NULL);
    library_ok =
        tmp &&
        mysql_client_register_plugin(tmp, (struct st_mysql_client_plugin *)&tls_gate_plugin) &&
        mysql_client_register_plugin(tmp,
                                     (struct st_mysql_client_plugin *)&clear_password_plugin);
    if (tmp)
        mysql_close(tmp);
}

static int local_infile_init(void **ptr, const char *name, void *userdata);
static int local_infile_read(void *ptr, char *buf, unsigned int len);
static void local_infile_end(void *ptr);
static int local_infile_error(void *ptr, char *msg, unsigned int len);

/* One connection attempt with the TLS options of `tls`. */
static MYSQL *connect_once(const dg_mysql_config *cfg, int use_tls, int verify, dg_mysql *m)
{
    MYSQL *conn = mysql_init(NULL);
    if (!conn)
        return NULL;
    unsigned int ct = cfg->connect_timeout, rt = cfg->read_timeout, one = 1;
    mysql_optionsv(conn, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_optionsv(conn, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_optionsv(conn, MYSQL_OPT_WRITE_TIMEOUT, &rt);
    mysql_optionsv(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    /* host:port means TCP, also for "localhost" (which the library would
     * otherwise take as its default Unix socket). */
    unsigned int tcp = MYSQL_PROTOCOL_TCP;
    mysql_optionsv(conn, MYSQL_OPT_PROTOCOL, &tcp);
    /* LOAD DATA LOCAL is how mysql-import writes; the handler installed below
     * answers only our own import statements, so a server asking for a local
     * file at any other time gets nothing from the disk. */
    mysql_optionsv(conn, MYSQL_OPT_LOCAL_INFILE, &one);
    if (use_tls) {
        my_bool yes = 1, v = verify ? 1 : 0;
        mysql_optionsv(conn, MYSQL_OPT_SSL_ENFORCE, &yes);
        mysql_optionsv(conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &v);
        if (verify && cfg->tls_ca[0])
            mysql_optionsv(conn, MYSQL_OPT_SSL_CA, cfg->tls_ca);
        mysql_optionsv(conn, MYSQL_DEFAULT_AUTH, TLS_GATE_PLUGIN);
        mysql_optionsv(conn, MARIADB_OPT_RESTRICTED_AUTH, tls_plugins);
    } else {
        mysql_optionsv(conn, MARIADB_OPT_RESTRICTED_AUTH, plain_text_plugins);
    }
    if (!mysql_real_connect(conn, cfg->host, cfg->user[0] ? cfg->user : NULL,
                            cfg->password ? cfg->password : "", cfg->database, cfg->port, NULL,
                            0)) {
        return conn; /* the caller reads the error, then closes */
    }
    mysql_set_local_infile_handler(conn, local_infile_init, local_infile_read, local_infile_end,
                                   local_infile_error, m);
    return conn;
}

/* Why a TCP connection to host:port fails, found by trying one: the client
 * library reports a refused port as "(115)", the EINPROGRESS of its
 * non-blocking connect, not the error the connect ended with. */
static void tcp_failure(const char *host, unsigned port, unsigned timeout_s, char *out,
                        size_t cap)
{
    char service[16];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int g = getaddrinfo(host, service, &hints, &ai);
    if (g != 0) {
        snprintf(out, cap, "cannot resolve the host name: %s", gai_strerror(g));
        return;
    }
    int e = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        e = 0;
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            e = errno;
            if (e == EINPROGRESS) {
                struct pollfd p = {fd, POLLOUT, 0};
                int r = poll(&p, 1, (int)(timeout_s ? timeout_s : 10) * 1000);
                socklen_t len = sizeof e;
                if (r == 0)
                    e = ETIMEDOUT;
                else if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
                    e = errno;
            }
        }
        close(fd);
        if (e == 0)
            break;
    }
    freeaddrinfo(ai);
    switch (e) {
    case 0: snprintf(out, cap, "the port accepted a connection only on a second try"); break;
    case ECONNREFUSED: snprintf(out, cap, "connection refused"); break;
    case ETIMEDOUT: snprintf(out, cap, "no answer within %u s", timeout_s); break;
    case EHOSTUNREACH: snprintf(out, cap, "no route to host"); break;
    case ENETUNREACH: snprintf(out, cap, "network unreachable"); break;
    default: snprintf(out, cap, "%s", strerror(e)); break;
    }
}

int dg_mysql_open(dg_mysql **out, const dg_mysql_config *cfg, dg_err *err)
{
    *out = NULL;
    pthread_once(&library_once, library_init);
    dg_mysql *m = dg_xcalloc(1, sizeof *m);
    snprintf(m->where, sizeof m->where, "%s:%u", cfg->host, cfg->port);
    snprintf(m->db, sizeof m->db, "%s", cfg->database);
    if (!library_ok) {
        free(m);
        return dg_fail(err, "%s: the MySQL client library did not initialise", cfg->host);
    }
    dg_tls_mode tls = dg_mysql_tls_effective(cfg);
    const char *tls_why = cfg->tls == DG_TLS_DEFAULT ? " (the default for a host other than "
                                                       "this machine)"
                                                     : "";
    int use_tls = tls != DG_TLS_DISABLED;
    int verify = tls == DG_TLS_VERIFY_IDENTITY;
    MYSQL *conn = connect_once(cfg, use_tls, verify, m);
    if (conn && mysql_errno(conn) == CR_SSL_CONNECTION_ERROR && tls == DG_TLS_PREFERRED) {
        /* The server offers no TLS (or the handshake failed): PREFERRED falls
         * back to plain TCP, as the mysql client's default mode does, with
         * the plain-text plugins only. */
        mysql_close(conn);
        conn = connect_once(cfg, 0, 0, m);
    }
    if (!conn) {
        dg_fail(err, "%s: out of memory for a MySQL connection", m->where);
        free(m);
        return DG_ERR;
    }
    unsigned int e = mysql_errno(conn);
    if (e) {
        char why[512];
        snprintf(why, sizeof why, "%s", mysql_error(conn));
        const char *hint = "";
        /* The server's greeting was read when it set its capabilities. */
        int greeted = conn->server_capabilities != 0;
        int offers_tls = (conn->server_capabilities & CLIENT_SSL) != 0;
        if (e == ER_ACCESS_DENIED_ERROR) {
            hint = " (wrong user or password?)";
        } else if (e == ER_BAD_DB_ERROR) {
            hint = " (no such database)";
        } else if (e == CR_CONNECTION_ERROR || e == CR_CONN_HOST_ERROR ||
                   e == CR_UNKNOWN_HOST) {
            tcp_failure(cfg->host, cfg->port, cfg->connect_timeout, why, sizeof why);
            hint = " (is the server running, and listening on that port?)";
        } else if (e == CR_PLUGIN_NOT_ALLOWED) {
            snprintf(why, sizeof why,
                     "the server asks for the password in clear text (an authentication "
                     "plugin such as mysql_clear_password or dialog) on a connection without "
                     "TLS: refused, the password was not sent");
            hint = tls == DG_TLS_DISABLED
                       ? " (with a server that offers TLS, --tls required allows it)"
                       : " (the server offers no TLS; with one that does, it is allowed)";
        } else if (e == CR_SSL_CONNECTION_ERROR && greeted && !offers_tls) {
            snprintf(why, sizeof why,
                     "the server offers no TLS, and TLS is %s%s: refused before "
                     "authenticating (no password was sent)",
                     dg_tls_mode_name(tls), tls_why);
            hint = " (--tls preferred or disabled connects without TLS, and never sends a "
                   "password in clear text)";
        } else if (e == CR_SSL_CONNECTION_ERROR) {
            hint = tls == DG_TLS_VERIFY_IDENTITY
                       ? " (TLS verification failed: give the server's CA with --tls-ca)"
                       : " (the TLS handshake failed)";
        }
        dg_fail(err, "cannot connect to %s, database %s, as user '%s': %s%s", m->where,
                cfg->database, cfg->user, why, hint);
        mysql_close(conn);
        free(m);
        return DG_ERR;
    }
    /* tls_gate stops a connection without TLS before authentication; this
     * is a second guard (a server without CLIENT_PLUGIN_AUTH never runs it). */
    if (tls >= DG_TLS_REQUIRED && !mysql_get_ssl_cipher(conn)) {
        dg_fail(err,
                "cannot connect to %s, database %s, as user '%s': TLS is %s%s but the server "
                "offers none (--tls preferred or disabled connects without)",
                m->where, cfg->database, cfg->user, dg_tls_mode_name(tls), tls_why);
        mysql_close(conn);
        free(m);
        return DG_ERR;
    }
    m->conn = conn;
    *out = m;
    return DG_OK;
}

void dg_mysql_close(dg_mysql *m)
{
    if (!m)
        return;
    if (m->conn)
        mysql_close(m->conn);
    free(m);
}

const char *dg_mysql_where(const dg_mysql *m)
{
    return m->where;
}

unsigned long dg_mysql_connection_id(dg_mysql *m)
{
    return m->conn ? mysql_thread_id(m->conn) : 0;
}

const char *dg_mysql_tls_version(dg_mysql *m)
{
    if (!m->conn || !mysql_get_ssl_cipher(m->conn))
        return NULL;
    const char *v = NULL;
    if (mariadb_get_infov(m->conn, MARIADB_CONNECTION_TLS_VERSION, &v) != 0)
        return "TLS";
    return v;
}

static int no_connection(dg_mysql *m, dg_err *err)
{
    return dg_fail(err, "%s: the connection was closed after an interrupted read", m->where);
}

static int run_sql(dg_mysql *m, const char *sql, const char *what, dg_err *err)
{
    if (!m->conn)
        return no_connection(m, err);
    if (mysql_real_query(m->conn, sql, strlen(sql)) != 0)
        return dg_fail(err, "%s %s: %s: %s", m->where, m->db, what, mysql_error(m->conn));
    MYSQL_RES *r = mysql_store_result(m->conn);
    if (r)
        mysql_free_result(r);
    return DG_OK;
}

int dg_mysql_kill(dg_mysql *m, unsigned long connection_id, dg_err *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "KILL CONNECTION %lu", connection_id);
    return run_sql(m, sql, "KILL", err);
}

/* ---- the catalogue -------------------------------------------------------- */

/* The database tables each demographer table may be found under, in order of
 * preference: the brief's names first, then the Kaggle files' names. These
 * fixed lists are the only table names that ever appear in SQL. */
static const char *const table_names[DG_T_COUNT][4] = {
    [DG_T_LABELS] = {"train", "gender_age_train", NULL},
    [DG_T_TEST] = {"gender_age_test", NULL},
    [DG_T_PHONES] = {"brand_device", "brand_devices", "phone_brand_device_model", NULL},
    [DG_T_EVENTS] = {"events", NULL},
    [DG_T_APP_EVENTS] = {"app_events", NULL},
    [DG_T_APP_LABELS] = {"app_labels", "app_labels_new", NULL},
    [DG_T_LABEL_CATEGORIES] = {"label_categories", NULL},
    [DG_T_SPLIT] = {"train_test_split", NULL},
};

const char *const *dg_mysql_table_names(dg_table_id id)
{
    return table_names[id];
}

/* Runs a catalogue query and calls fn on each row's first two fields. */
static int each_row(dg_mysql *m, const char *sql, void (*fn)(void *, char **, unsigned long *),
                    void *ctx, dg_err *err)
{
    if (!m->conn)
        return no_connection(m, err);
    if (mysql_real_query(m->conn, sql, strlen(sql)) != 0)
        return dg_fail(err, "%s %s: reading the catalogue: %s", m->where, m->db,
                       mysql_error(m->conn));
    MYSQL_RES *r = mysql_store_result(m->conn);
    if (!r)
        return dg_fail(err, "%s %s: reading the catalogue: %s", m->where, m->db,
                       mysql_error(m->conn));
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r)))
        fn(ctx, row, mysql_fetch_lengths(r));
    mysql_free_result(r);
    return DG_OK;
}

typedef struct name_list {
    char names[64][65];
    uint64_t rows[64];
    int n;
} name_list;

static void add_name(void *ctx, char **row, unsigned long *len)
{
    name_list *l = ctx;
    if (l->n >= 64 || !row[0])
        return;
    snprintf(l->names[l->n], sizeof l->names[0], "%.*s", (int)len[0], row[0]);
    l->rows[l->n] = row[1] ? strtoull(row[1], NULL, 10) : 0;
    l->n++;
}

static int list_tables(dg_mysql *m, name_list *l, dg_err *err)
{
    memset(l, 0, sizeof *l);
    return each_row(m,
                    "SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
                    add_name, l, err);
}

static int list_columns(dg_mysql *m, const char *table, name_list *l, dg_err *err)
{
    memset(l, 0, sizeof *l);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT COLUMN_NAME, NULL FROM information_schema.COLUMNS "
             "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '%s' ORDER BY ORDINAL_POSITION",
             table);
    return each_row(m, sql, add_name, l, err);
}

static void join_names(const name_list *l, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < l->n && o + 70 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? ", " : "", l->names[i]);
    if (l->n == 0)
        snprintf(out, cap, "none");
}

static int find_name(const name_list *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcasecmp(l->names[i], name) == 0)
            return i;
    return -1;
}

/* The database table holding `id`: its index in `tables`, or -1. */
static int locate(const name_list *tables, dg_table_id id, const char **name)
{
    for (int k = 0; table_names[id][k]; k++) {
        int i = find_name(tables, table_names[id][k]);
        if (i >= 0) {
            *name = table_names[id][k];
            return i;
        }
    }
    return -1;
}

/* ---- streaming read --------------------------------------------------------- */

#define READ_PROGRESS_ROWS 16384

/* Gives up the rest of an unbuffered result without reading it: the server
 * may still be sending millions of rows, which mysql_free_result would read to
 * the end. The connection cannot be used afterwards, so it is closed. */
static void abandon(dg_mysql *m, MYSQL_RES *res)
{
    res->handle = NULL;
    mysql_free_result(res);
    mysql_close(m->conn);
    m->conn = NULL;
}

int dg_mysql_read_table(dg_mysql *m, dg_table_id id, dg_table *out, const dg_progress *progress,
                        dg_mysql_read_report *report, dg_err *err)
{
    double t0 = dg_now();
    memset(report, 0, sizeof *report);
    const dg_tablespec *spec = &dg_tables[id];
    name_list tables, cols;
    if (list_tables(m, &tables, err) != DG_OK)
        return DG_ERR;
    const char *tname = NULL;
    int ti = locate(&tables, id, &tname);
    if (ti < 0) {
        char have[1024], want[256] = "";
        join_names(&tables, have, sizeof have);
        for (int k = 0; table_names[id][k]; k++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s'%s'", k ? " or " : "",
                     table_names[id][k]);
        return dg_fail(err, "%s %s: no table %s (the database has: %s)", m->where, m->db, want,
                       have);
    }
    snprintf(report->table, sizeof report->table, "%s", tname);
    report->estimate = tables.rows[ti];
    if (list_columns(m, tname, &cols, err) != DG_OK)
        return DG_ERR;
    char sql[512];
    size_t o = (size_t)snprintf(sql, sizeof sql, "SELECT ");
    for (int c = 0; c < spec->ncols; c++) {
        const dg_colspec *cs = &spec->cols[c];
        int found = find_name(&cols, cs->name);
        if (found < 0 && cs->alt)
            found = find_name(&cols, cs->alt);
        if (found < 0) {
            char have[1024];
            join_names(&cols, have, sizeof have);
            return dg_fail(err, "%s %s.%s: no column '%s'%s%s%s (the table has: %s)", m->where,
                           m->db, tname, cs->name, cs->alt ? " or '" : "",
                           cs->alt ? cs->alt : "", cs->alt ? "'" : "", have);
        }
        o += (size_t)snprintf(sql + o, sizeof sql - o, "%s`%s`", c ? ", " : "",
                              cols.names[found]);
    }
    report->ordered = find_name(&cols, "dg_row") >= 0;
    o += (size_t)snprintf(sql + o, sizeof sql - o, " FROM `%s`%s", tname,
                          report->ordered ? " ORDER BY `dg_row`" : "");
    if (o >= sizeof sql)
        return dg_fail(err, "%s %s.%s: query too long", m->where, m->db, tname);

    dg_rows_reset_table(out);
    for (int c = 0; c < spec->ncols; c++)
        dg_table_add_column(out, spec->cols[c].name, spec->cols[c].type);
    if (mysql_real_query(m->conn, sql, o) != 0)
        return dg_fail(err, "%s %s.%s: %s", m->where, m->db, tname, mysql_error(m->conn));
    MYSQL_RES *res = mysql_use_result(m->conn);
    if (!res)
        return dg_fail(err, "%s %s.%s: %s", m->where, m->db, tname, mysql_error(m->conn));
    uint64_t cap = report->estimate > 0 ? report->estimate + report->estimate / 8 + 1024 : 65536;
    dg_table_resize(out, cap);
    uint64_t n = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        unsigned long *len = mysql_fetch_lengths(res);
        if (n == cap) {
            cap *= 2;
            dg_table_resize(out, cap);
        }
        for (int c = 0; c < spec->ncols; c++) {
            const dg_column *col = &out->cols[c];
            int code = 0;
            if (!row[c] && col->type != DG_COL_STR) {
                dg_fail(err, "%s %s.%s: row %" PRIu64 ", column '%s': expected %s, found NULL",
                        m->where, m->db, tname, n + 1, col->name,
                        dg_parse_expected(col->type, DG_PARSE_SYNTAX));
                goto fail;
            }
            if (row[c] && !dg_colspec_allows(&spec->cols[c], row[c], len[c])) {
                char found[48], want[128];
                snprintf(found, sizeof found, "%.*s", (int)(len[c] < 40 ? len[c] : 40), row[c]);
                dg_fail(err, "%s %s.%s: row %" PRIu64 ", column '%s': expected %s, found '%s'",
                        m->where, m->db, tname, n + 1, col->name,
                        dg_colspec_expected(&spec->cols[c], want, sizeof want), found);
                goto fail;
            }
            if (dg_rows_store_value(out, c, n, row[c], len[c], &code) != 0) {
                char found[48];
                snprintf(found, sizeof found, "%.*s", (int)(len[c] < 40 ? len[c] : 40), row[c]);
                dg_fail(err, "%s %s.%s: row %" PRIu64 ", column '%s': expected %s, found '%s'",
                        m->where, m->db, tname, n + 1, col->name,
                        dg_parse_expected(col->type, code), found);
                goto fail;
            }
        }
        n++;
        if (n % READ_PROGRESS_ROWS == 0 &&
            dg_progress_report(progress, tname, (double)n, (double)report->estimate, "rows")) {
            dg_cancel(err, "%s %s.%s: cancelled", m->where, m->db, tname);
            goto fail;
        }
    }
    if (mysql_errno(m->conn)) {
        unsigned e = mysql_errno(m->conn);
        /* Over TLS a closed connection shows as a TLS error (unexpected EOF). */
        if (e == CR_SERVER_LOST || e == CR_SERVER_GONE_ERROR || e == ER_CONNECTION_KILLED ||
            e == ER_QUERY_INTERRUPTED || e == CR_SSL_CONNECTION_ERROR)
            dg_fail(err, "%s %s.%s: the server went away after row %" PRIu64 " (%s)", m->where,
                    m->db, tname, n, mysql_error(m->conn));
        else
            dg_fail(err, "%s %s.%s: reading stopped after row %" PRIu64 ": %s", m->where, m->db,
                    tname, n, mysql_error(m->conn));
        mysql_free_result(res);
        dg_rows_reset_table(out);
        return DG_ERR;
    }
    mysql_free_result(res);
    dg_table_resize(out, n);
    out->nrows = n;
    report->rows = n;
    report->seconds = dg_now() - t0;
    dg_progress_report(progress, tname, (double)n, (double)n, "rows");
    return DG_OK;
fail:
    abandon(m, res);
    dg_rows_reset_table(out);
    return DG_ERR;
}

/* ---- load a data set ------------------------------------------------------- */

static const int required[DG_T_COUNT] = {
    [DG_T_LABELS] = 1, [DG_T_PHONES] = 1, [DG_T_EVENTS] = 1, [DG_T_APP_EVENTS] = 1};

static void clear_dataset(dg_dataset *ds)
{
    for (int t = 0; t < DG_T_COUNT; t++) {
        dg_rows_reset_table(&ds->tables[t]);
        ds->present[t] = 0;
        free(ds->sources[t].path);
        memset(&ds->sources[t], 0, sizeof ds->sources[t]);
        memset(&ds->reports[t], 0, sizeof ds->reports[t]);
    }
    memset(&ds->reconcile, 0, sizeof ds->reconcile);
}

int dg_mysql_load(dg_dataset *ds, const dg_mysql_config *cfg, const dg_mysql_load_opts *opts,
                  dg_err *err)
{
    static const dg_mysql_load_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    double t0 = dg_now();
    clear_dataset(ds);
    free(ds->dir);
    size_t n = strlen(cfg->host) + strlen(cfg->database) + 16;
    ds->dir = dg_xmalloc(n);
    snprintf(ds->dir, n, "%s:%u/%s", cfg->host, cfg->port, cfg->database);
    ds->shape = DG_SHAPE_KAGGLE;
    ds->from_snapshot = 0;
    dg_mysql *m;
    if (dg_mysql_open(&m, cfg, err) != DG_OK)
        return DG_ERR;
    name_list tables;
    if (list_tables(m, &tables, err) != DG_OK)
        goto fail;
    for (int t = 0; t < DG_T_COUNT; t++) {
        dg_source *src = &ds->sources[t];
        if (opts->skip[t])
            continue;
        if (opts->files[t]) {
            dg_progress_stage stage;
            dg_csv_opts co = {
                .progress = dg_progress_restage(&stage, opts->progress, dg_tables[t].name)};
            if (dg_csv_read(opts->files[t], dg_tables[t].cols, dg_tables[t].ncols, &co,
                            &ds->tables[t], &ds->reports[t], err) != DG_OK)
                goto fail;
            src->path = dg_xstrdup(opts->files[t]);
            ds->present[t] = 1;
            continue;
        }
        const char *tname = NULL;
        if (locate(&tables, (dg_table_id)t, &tname) < 0 && !required[t])
            continue; /* an optional table the database does not have */
        dg_mysql_read_report rr;
        if (dg_mysql_read_table(m, (dg_table_id)t, &ds->tables[t], opts->progress, &rr, err) !=
            DG_OK)
            goto fail;
        size_t pn = strlen(ds->dir) + strlen(rr.table) + 2;
        src->path = dg_xmalloc(pn);
        snprintf(src->path, pn, "%s.%s", ds->dir, rr.table);
        ds->reports[t].rows = rr.rows;
        ds->reports[t].seconds = rr.seconds;
        ds->present[t] = 1;
        if (t == DG_T_LABELS) {
            name_list cols;
            if (list_columns(m, rr.table, &cols, err) != DG_OK)
                goto fail;
            if (find_name(&cols, "group_train") >= 0)
                ds->shape = DG_SHAPE_UPGRAD;
        }
    }
    dg_mysql_close(m);
    if (!opts->keep_cut_ids)
        dg_dataset_reconcile(ds);
    ds->seconds = dg_now() - t0;
    return DG_OK;
fail:
    dg_mysql_close(m);
    clear_dataset(ds);
    return DG_ERR;
}

/* ---- any query, streamed (features --db) ---------------------------------------- */

int dg_mysql_query_rows(dg_mysql *m, const char *sql, const char *what, dg_mysql_row_fn fn,
                        void *ctx, dg_err *err)
{
    if (!m->conn)
        return no_connection(m, err);
    if (mysql_real_query(m->conn, sql, strlen(sql)) != 0)
        return dg_fail(err, "%s %s: %s: %s", m->where, m->db, what, mysql_error(m->conn));
    MYSQL_RES *res = mysql_use_result(m->conn);
    if (!res && mysql_field_count(m->conn) == 0)
        return DG_OK; /* a statement without rows (SET) */
    if (!res)
        return dg_fail(err, "%s %s: %s: %s", m->where, m->db, what, mysql_error(m->conn));
    unsigned nf = mysql_num_fields(res);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        if (fn(ctx, row, mysql_fetch_lengths(res), nf, err) != 0) {
            abandon(m, res);
            return DG_ERR;
        }
    if (mysql_errno(m->conn)) {
        dg_fail(err, "%s %s: %s: %s", m->where, m->db, what, mysql_error(m->conn));
        mysql_free_result(res);
        return DG_ERR;
    }
    mysql_free_result(res);
    return DG_OK;
}

int dg_mysql_has_column(dg_mysql *m, const char *table, const char *column, int *out,
                        dg_err *err)
{
    name_list cols;
    if (list_columns(m, table, &cols, err) != DG_OK)
        return DG_ERR;
    *out = find_name(&cols, column) >= 0;
    return DG_OK;
}

/* ---- import ------------------------------------------------------------------- */

/* The database table each demographer table is imported as. */
static const char *import_name(dg_table_id id)
{
    return table_names[id][0];
}

/* A table streamed as LOAD DATA's default text format: tab-separated fields,
 * newline-terminated rows, backslash escapes, \N for NULL. */
struct infile_feed {
    const dg_table *t;
    const char *expect_name; /* the file name our statement asked for */
    uint64_t row;
    dg_tsv_row line;         /* the current row, formatted */
    const dg_progress *progress;
    const char *stage;
    int cancelled;
    char error[256];
};

static int local_infile_init(void **ptr, const char *name, void *userdata)
{
    dg_mysql *m = userdata;
    *ptr = m->feed;
    /* Only while one of our statements runs, and only for the name it gave:
     * anything else is a server asking for a file we never offered. */
    if (!m->feed || strcmp(name, m->feed->expect_name) != 0)
        return 1;
    return 0;
}

static int local_infile_read(void *ptr, char *buf, unsigned int len)
{
    infile_feed *f = ptr;
    unsigned int o = 0;
    while (o < len) {
        if (f->line.off == f->line.len) {
            if (f->row == f->t->nrows)
                break;
            if (f->row % READ_PROGRESS_ROWS == 0 &&
                dg_progress_report(f->progress, f->stage, (double)f->row, (double)f->t->nrows,
                                   "rows")) {
                f->cancelled = 1;
                snprintf(f->error, sizeof f->error, "cancelled");
                return -1;
            }
            dg_tsv_format_row(&f->line, f->t, f->row++);
        }
        size_t take = f->line.len - f->line.off;
        if (take > len - o)
            take = len - o;
        memcpy(buf + o, f->line.buf + f->line.off, take);
        f->line.off += take;
        o += (unsigned int)take;
    }
    return (int)o;
}

static void local_infile_end(void *ptr)
{
    (void)ptr;
}

static int local_infile_error(void *ptr, char *msg, unsigned int len)
{
    infile_feed *f = ptr;
    snprintf(msg, len, "%s", f && f->error[0] ? f->error : "demographer offered no such file");
    return 1;
}

static const char *sql_type(const dg_table *t, const dg_column *c)
{
    switch (c->type) {
    case DG_COL_I64:
    case DG_COL_KEY: return "BIGINT NOT NULL";
    case DG_COL_I32: return "INT NOT NULL";
    case DG_COL_I8: return "TINYINT NOT NULL";
    case DG_COL_F32: return "DOUBLE NULL";
    case DG_COL_TIME: return "DATETIME NOT NULL";
    default: break;
    }
    uint32_t longest = 0;
    for (uint32_t i = 0; i < t->strings.n; i++)
        if (t->strings.lens[i] > longest)
            longest = t->strings.lens[i];
    return longest <= 255 ? "VARCHAR(255) NOT NULL" : "TEXT NOT NULL";
}

/* The column name written: the source's own (the Upgrad train's group is
 * group_train, which is also how a read tells the shapes apart). */
static const char *import_column(const dg_dataset *ds, dg_table_id id, int c)
{
    const dg_colspec *cs = &dg_tables[id].cols[c];
    if (id == DG_T_LABELS && ds->shape == DG_SHAPE_UPGRAD && cs->alt)
        return cs->alt;
    return cs->name;
}

static int import_table(dg_mysql *m, const dg_dataset *ds, dg_table_id id,
                        const dg_progress *progress, dg_err *err)
{
    const dg_table *t = &ds->tables[id];
    const char *name = import_name(id);
    char staging[96], sql[2048], what[128];
    snprintf(staging, sizeof staging, "%s__dg_new", name);
    snprintf(what, sizeof what, "importing %s", name);
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS `%s`", staging);
    if (run_sql(m, sql, what, err) != DG_OK)
        return DG_ERR;
    size_t o = (size_t)snprintf(sql, sizeof sql,
                                "CREATE TABLE `%s` (`dg_row` BIGINT UNSIGNED NOT NULL "
                                "AUTO_INCREMENT PRIMARY KEY",
                                staging);
    for (int c = 0; c < t->ncols; c++)
        o += (size_t)snprintf(sql + o, sizeof sql - o, ", `%s` %s", import_column(ds, id, c),
                              sql_type(t, &t->cols[c]));
    snprintf(sql + o, sizeof sql - o,
             ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
    if (run_sql(m, sql, what, err) != DG_OK)
        return DG_ERR;

    char fname[96];
    snprintf(fname, sizeof fname, "demographer:%s", name);
    o = (size_t)snprintf(sql, sizeof sql,
                         "LOAD DATA LOCAL INFILE '%s' INTO TABLE `%s` CHARACTER SET utf8mb4 "
                         "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
                         "LINES TERMINATED BY '\\n' (",
                         fname, staging);
    for (int c = 0; c < t->ncols; c++)
        o += (size_t)snprintf(sql + o, sizeof sql - o, "%s`%s`", c ? ", " : "",
                              import_column(ds, id, c));
    snprintf(sql + o, sizeof sql - o, ")");
    infile_feed feed = {.t = t, .expect_name = fname, .progress = progress, .stage = name};
    m->feed = &feed;
    int rc = mysql_real_query(m->conn, sql, strlen(sql));
    m->feed = NULL;
    free(feed.line.buf);
    if (rc != 0 || feed.cancelled) {
        unsigned e = mysql_errno(m->conn);
        if (feed.cancelled)
            dg_cancel(err, "%s %s.%s: cancelled", m->where, m->db, name);
        else if (e == ER_NOT_ALLOWED_COMMAND)
            dg_fail(err,
                    "%s %s.%s: the server refuses LOAD DATA LOCAL INFILE (%s); enable it on "
                    "the server with local_infile=1",
                    m->where, m->db, name, mysql_error(m->conn));
        else
            dg_fail(err, "%s %s.%s: %s", m->where, m->db, name, mysql_error(m->conn));
        dg_err ignore;
        snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS `%s`", staging);
        run_sql(m, sql, what, &ignore);
        return DG_ERR;
    }
    /* LOAD DATA LOCAL turns bad values into warnings (a truncated string, a
     * number out of range): any warning means the copy is not exact. */
    if (mysql_warning_count(m->conn) > 0) {
        char first[512] = "";
        if (mysql_query(m->conn, "SHOW WARNINGS LIMIT 1") == 0) {
            MYSQL_RES *r = mysql_store_result(m->conn);
            MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
            if (row && row[2])
                snprintf(first, sizeof first, "%s", row[2]);
            if (r)
                mysql_free_result(r);
        }
        dg_fail(err, "%s %s.%s: the server changed values while importing: %s", m->where,
                m->db, name, first);
        dg_err ignore;
        snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS `%s`", staging);
        run_sql(m, sql, what, &ignore);
        return DG_ERR;
    }
    dg_progress_report(progress, name, (double)t->nrows, (double)t->nrows, "rows");
    return DG_OK;
}

/* Which of the import's tables (table_names[t][0]) the database holds. */
static int note_table(void *ctx, char **row, unsigned long *len, unsigned nfields, dg_err *err)
{
    (void)err;
    int *exists = ctx;
    for (int t = 0; t < DG_T_COUNT && nfields >= 1 && row[0]; t++)
        if (strlen(import_name((dg_table_id)t)) == len[0] &&
            memcmp(import_name((dg_table_id)t), row[0], len[0]) == 0)
            exists[t] = 1;
    return 0;
}

/* Drops NAME__dg_new (and NAME__dg_old) of every table: what an import
 * killed before its swap (or its drop) left. */
static void drop_staging(dg_mysql *m, const char *suffix)
{
    for (int t = 0; t < DG_T_COUNT; t++) {
        char sql[256];
        dg_err ignore;
        snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS `%s%s`", import_name((dg_table_id)t),
                 suffix);
        run_sql(m, sql, "dropping a staging table", &ignore);
    }
}

int dg_mysql_import(dg_mysql *m, const dg_dataset *ds, const dg_progress *progress,
                    dg_mysql_import_report *report, dg_err *err)
{
    double t0 = dg_now();
    memset(report, 0, sizeof *report);
    if (!m->conn)
        return no_connection(m, err);
    /* Every table into NAME__dg_new first; then one RENAME TABLE swaps the
     * whole set in (MariaDB renames a list atomically): a kill or a failure
     * at any moment leaves the previous import whole, never a mix of two data
     * sets. A table of the previous import that this data set lacks goes too. */
    drop_staging(m, "__dg_new");
    drop_staging(m, "__dg_old");
    for (int t = 0; t < DG_T_COUNT; t++) {
        if (!ds->present[t])
            continue;
        if (import_table(m, ds, (dg_table_id)t, progress, err) != DG_OK) {
            drop_staging(m, "__dg_new");
            return DG_ERR;
        }
        report->rows[t] = ds->tables[t].nrows;
        snprintf(report->table[t], sizeof report->table[t], "%s", import_name((dg_table_id)t));
    }
    int exists[DG_T_COUNT] = {0};
    if (dg_mysql_query_rows(m,
                            "SELECT table_name FROM information_schema.tables WHERE "
                            "table_schema = DATABASE()",
                            "listing the tables", note_table, exists, err) != DG_OK) {
        drop_staging(m, "__dg_new");
        return DG_ERR;
    }
    char sql[4096];
    size_t o = (size_t)snprintf(sql, sizeof sql, "RENAME TABLE");
    int pairs = 0;
    for (int t = 0; t < DG_T_COUNT; t++) {
        const char *name = import_name((dg_table_id)t);
        if (exists[t])
            o += (size_t)snprintf(sql + o, sizeof sql - o, "%s `%s` TO `%s__dg_old`",
                                  pairs++ ? "," : "", name, name);
        if (ds->present[t])
            o += (size_t)snprintf(sql + o, sizeof sql - o, "%s `%s__dg_new` TO `%s`",
                                  pairs++ ? "," : "", name, name);
    }
    if (pairs && run_sql(m, sql, "swapping the imported tables in", err) != DG_OK) {
        drop_staging(m, "__dg_new");
        return DG_ERR;
    }
    drop_staging(m, "__dg_old");
    report->seconds = dg_now() - t0;
    return DG_OK;
}
