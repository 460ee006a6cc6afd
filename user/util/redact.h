/* SPDX-License-Identifier: MIT */
/*
 * Credential redaction for everything bedtrace exports that a traced program chose: URLs of
 * HTTP spans (url.full, url.query) and the command line in the resource
 * (process.command_line). Owns the one list of credential names, the URL rule (userinfo and
 * secret query values) and the command-line rules. Pure functions over strings, no I/O.
 */
#ifndef BT_REDACT_H
#define BT_REDACT_H

#include <stdbool.h>
#include <stddef.h>

/* What replaces a secret value. */
#define REDACTED "REDACTED"

/*
 * True when @name (@len bytes, case-insensitive) names a credential: a known secret query
 * parameter (sig, X-Amz-Signature, key, code, ...), or a name containing password, passwd,
 * passphrase, secret, credential, apikey, accesskey, privatekey, authorization, cookie or
 * signature once '-', '_' and '.' are removed, or ending in token or auth (GITHUB_TOKEN,
 * basic_auth; not max_tokens), or with a word pass or pwd (MYSQL_PWD; not PWD).
 */
bool redact_name_is_secret(const char *name, size_t len);
/* True when HTTP header @name (case-insensitive) carries a credential and is never exported. */
bool redact_header_is_secret(const char *name);

/*
 * Returns query string @q (@len bytes, without '?') with the value of every parameter whose
 * name is secret replaced by REDACTED; caller frees; NULL + errno (ENOMEM).
 */
char *redact_query(const char *q, size_t len);

/*
 * Returns "@scheme://@authority@target" with userinfo in the authority replaced by
 * REDACTED:REDACTED, secret query values redacted and the fragment dropped; @target is used
 * only when it starts with '/', or when it is itself absolute ("scheme://...", proxy requests,
 * then @scheme and @authority are ignored). Caller frees; NULL + errno (ENOMEM).
 */
char *redact_url(const char *scheme, const char *authority, const char *target);

/*
 * Returns the command line @args (@len bytes of NUL-separated arguments, as in
 * /proc/PID/cmdline) joined with spaces, with credentials replaced by REDACTED: the value after
 * a credential option (--password X, --api-key X, --user/-u user:X), --opt=X and KEY=X for a
 * secret name, secret header arguments ("Authorization: X"), URL userinfo and secret query
 * values. Caller frees; NULL + errno (ENOMEM).
 */
char *redact_cmdline(const char *args, size_t len);

#endif
