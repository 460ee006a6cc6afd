// SPDX-License-Identifier: MIT
/* Credential redaction: names, URLs, query strings and command lines (redact.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/redact.h"

/* Redacts the NULL-terminated argument list as /proc/PID/cmdline would hold it. */
static char *cmdline(const char *const *argv)
{
	char buf[4096];
	size_t len = 0, n;
	char *out;

	for (; *argv; argv++) {
		n = strlen(*argv) + 1;
		assert_true(len + n <= sizeof(buf));
		memcpy(buf + len, *argv, n);
		len += n;
	}
	out = redact_cmdline(buf, len ? len - 1 : 0);
	assert_non_null(out);
	return out;
}

#define assert_cmdline(want, ...)                                                                  \
	do {                                                                                       \
		const char *const argv_[] = {__VA_ARGS__, NULL};                                   \
		char *got_ = cmdline(argv_);                                                       \
		assert_string_equal(got_, want);                                                   \
		free(got_);                                                                        \
	} while (0)

static void test_redact_curl_secrets_from_the_issue(void **state)
{
	(void)state;
	assert_cmdline(
	    "curl -sk -H Authorization: REDACTED -H Cookie: REDACTED -H x-api-key: REDACTED "
	    "https://h.example/p?X-Amz-Signature=REDACTED&token=REDACTED&page=2",
	    "curl", "-sk", "-H", "Authorization: Bearer S1", "-H", "Cookie: session=S2", "-H",
	    "x-api-key: S3", "https://h.example/p?X-Amz-Signature=S4&token=S5&page=2");
}

static void test_redact_credential_options(void **state)
{
	(void)state;
	assert_cmdline("tool --password REDACTED --token=REDACTED --api-key REDACTED -v", "tool",
		       "--password", "p1", "--token=t1", "--api-key", "k1", "-v");
	assert_cmdline("tool --hf-token REDACTED --openai-api-key REDACTED "
		       "--aws-secret-access-key REDACTED --client-secret REDACTED",
		       "tool", "--hf-token", "a", "--openai-api-key", "b",
		       "--aws-secret-access-key", "c", "--client-secret", "d");
	/* Go's flag package: one dash, and -Dname=value */
	assert_cmdline("app -token REDACTED -Ddb.password=REDACTED", "app", "-token", "t",
		       "-Ddb.password=pw");
	/* flags named like credentials take no value: the next argument is kept */
	assert_cmdline("docker login --password-stdin -u bob", "docker", "login",
		       "--password-stdin", "-u", "bob");
	assert_cmdline("curl --anyauth https://h.example/ --no-password x", "curl", "--anyauth",
		       "https://h.example/", "--no-password", "x");
	assert_cmdline("llm --max-tokens=100 --max_tokens 5 --token-file /run/t", "llm",
		       "--max-tokens=100", "--max_tokens", "5", "--token-file", "/run/t");
	/* the last argument being an option is not an error */
	assert_cmdline("tool --password", "tool", "--password");
}

static void test_redact_user_password_options(void **state)
{
	(void)state;
	assert_cmdline("curl -u bob:REDACTED --user alice:REDACTED -ucarol:REDACTED "
		       "--proxy-user dave:REDACTED -u erin",
		       "curl", "-u", "bob:pw1", "--user", "alice:pw2", "-ucarol:pw3",
		       "--proxy-user", "dave:pw4", "-u", "erin");
}

static void test_redact_key_value_arguments(void **state)
{
	(void)state;
	assert_cmdline("env AWS_SECRET_ACCESS_KEY=REDACTED AWS_SESSION_TOKEN=REDACTED "
		       "AWS_ACCESS_KEY_ID=REDACTED AWS_REGION=us-east-1 cmd",
		       "env", "AWS_SECRET_ACCESS_KEY=s", "AWS_SESSION_TOKEN=t",
		       "AWS_ACCESS_KEY_ID=i", "AWS_REGION=us-east-1", "cmd");
	assert_cmdline(
	    "env GITHUB_TOKEN=REDACTED PGPASSWORD=REDACTED MYSQL_PWD=REDACTED PWD=/home/u "
	    "OPENAI_API_KEY=REDACTED key=REDACTED max_tokens=5",
	    "env", "GITHUB_TOKEN=g", "PGPASSWORD=p", "MYSQL_PWD=m", "PWD=/home/u",
	    "OPENAI_API_KEY=o", "key=k", "max_tokens=5");
	/* form data: each secret field, the others kept */
	assert_cmdline("curl -d user=bob&password=REDACTED&remember=1", "curl", "-d",
		       "user=bob&password=pw&remember=1");
}

static void test_redact_header_arguments(void **state)
{
	(void)state;
	assert_cmdline("x Proxy-Authorization: REDACTED X-Auth-Token:REDACTED "
		       "X-Vault-Token: REDACTED Accept: text/html",
		       "x", "Proxy-Authorization: Basic abc", "X-Auth-Token:t", "X-Vault-Token: v",
		       "Accept: text/html");
	/* curl's attached short option */
	assert_cmdline("curl -HAuthorization: REDACTED", "curl", "-HAuthorization: Bearer z");
}

static void test_redact_urls_in_arguments(void **state)
{
	(void)state;
	assert_cmdline("git clone https://REDACTED:REDACTED@github.com/o/r.git", "git", "clone",
		       "https://user:ghp_x@github.com/o/r.git");
	assert_cmdline("app DATABASE_URL=postgres://REDACTED:REDACTED@db:5432/app "
		       "--url=https://h/cb?code=REDACTED&state=s#access_token=REDACTED&x=1",
		       "app", "DATABASE_URL=postgres://u:p@db:5432/app",
		       "--url=https://h/cb?code=c&state=s#access_token=a&x=1");
	/* the whole value is the secret when a secret name holds a URL */
	assert_cmdline("app WEBHOOK_SECRET=REDACTED", "app", "WEBHOOK_SECRET=https://h/x");
	assert_cmdline("redis-cli -u redis://REDACTED:REDACTED@h:6379", "redis-cli", "-u",
		       "redis://:pw@h:6379");
}

static void test_redact_script_in_one_argument(void **state)
{
	char *got;

	(void)state;
	assert_cmdline("sh -c curl -H 'Authorization: REDACTED REDACTED' "
		       "'https://h/?token=REDACTED' --password REDACTED; echo done",
		       "sh", "-c",
		       "curl -H 'Authorization: Bearer s1' 'https://h/?token=s2' --password s3; "
		       "echo done");
	got = redact_cmdline("a\0b", 3);
	assert_string_equal(got, "a b");
	free(got);
}

static void test_redact_plain_command_unchanged(void **state)
{
	char *got;

	(void)state;
	assert_cmdline("python3 -m http.server 8080 --bind 127.0.0.1", "python3", "-m",
		       "http.server", "8080", "--bind", "127.0.0.1");
	assert_cmdline("ls  -la", "ls", "", "-la");
	got = redact_cmdline("", 0);
	assert_string_equal(got, "");
	free(got);
}

/* The credential headers are one list, case-insensitive; ordinary headers are not secret. */
static void test_redact_header_names(void **state)
{
	(void)state;
	assert_true(redact_header_is_secret("Authorization"));
	assert_true(redact_header_is_secret("x-amz-security-token"));
	assert_true(redact_header_is_secret("Cookie"));
	assert_true(redact_header_is_secret("X-Api-Key"));
	assert_false(redact_header_is_secret("content-type"));
	assert_false(redact_header_is_secret("x-amz-date"));
}

static void test_redact_names(void **state)
{
	static const char *const secret[] = {
	    "password",
	    "PGPASSWORD",
	    "db.passwd",
	    "Passphrase",
	    "client_secret",
	    "apiKey",
	    "x-api-key",
	    "AccessKey",
	    "private_key",
	    "Authorization",
	    "cookie",
	    "X-Amz-Signature",
	    "sig",
	    "key",
	    "code",
	    "accessToken",
	    "GH_TOKEN",
	    "basic_auth",
	    "oauth",
	    "pass",
	    "MYSQL_PWD",
	    "x-amz-credential",
	    "AWSAccessKeyId",
	};
	static const char *const plain[] = {
	    "user",   "max_tokens", "tokenizer", "author", "PWD",    "OLDPWD", "bypass",
	    "monkey", "keyboard",   "page",	 "state",  "region", "",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (!redact_name_is_secret(secret[i], strlen(secret[i])))
			fail_msg("%s should be secret", secret[i]);
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (redact_name_is_secret(plain[i], strlen(plain[i])))
			fail_msg("%s should not be secret", plain[i]);
}

static void test_redact_url_and_query(void **state)
{
	char *got;

	(void)state;
	got = redact_url("https", "u:p@h.example:8443", "/a?sig=1&x=2#frag");
	assert_string_equal(got, "https://REDACTED:REDACTED@h.example:8443/a?sig=REDACTED&x=2");
	free(got);
	/* an absolute-form target (proxy request) wins over scheme and authority */
	got = redact_url("http", "proxy:3128", "http://o.example/p?token=t");
	assert_string_equal(got, "http://o.example/p?token=REDACTED");
	free(got);
	/* only an origin-form target is appended */
	got = redact_url("https", "h", "*");
	assert_string_equal(got, "https://h");
	free(got);
	got = redact_query("a=1&password=&access_token=x&b", 30);
	assert_string_equal(got, "a=1&password=REDACTED&access_token=REDACTED&b");
	free(got);
	got = redact_query("token=x", 0);
	assert_string_equal(got, "");
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redact_header_names),
	    cmocka_unit_test(test_redact_curl_secrets_from_the_issue),
	    cmocka_unit_test(test_redact_credential_options),
	    cmocka_unit_test(test_redact_user_password_options),
	    cmocka_unit_test(test_redact_key_value_arguments),
	    cmocka_unit_test(test_redact_header_arguments),
	    cmocka_unit_test(test_redact_urls_in_arguments),
	    cmocka_unit_test(test_redact_script_in_one_argument),
	    cmocka_unit_test(test_redact_plain_command_unchanged),
	    cmocka_unit_test(test_redact_names),
	    cmocka_unit_test(test_redact_url_and_query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
