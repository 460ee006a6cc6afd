# SPDX-License-Identifier: MIT
# bedtrace build. `make` builds ./bedtrace; `make test` installs dependencies, builds and runs
# every test; `make demo` traces the bundled demo app; `make fuzz` runs each fuzzer briefly.

OUT        := build
CC         ?= gcc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION    := 0.1.0

CFLAGS     ?= -O2 -g
CFLAGS     += -Wall -Wextra -Werror -std=gnu11 -MMD -MP -Iinclude -Iuser -I$(OUT) \
	      -DBT_VERSION=\"$(VERSION)\"
# BPF and userspace agree on x86-64 register and syscall layouts only (see include/bedtrace.h).
ifneq ($(ARCH),x86)
$(error bedtrace supports x86-64 only (this machine: $(shell uname -m)))
endif
LDLIBS     := -lbpf -lelf -lz -lcjson -lnghttp2 -lcurl -lstdc++ -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I$(OUT) -Iinclude

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
# user/ holds the command line and event loop; each folder below it is one pipeline stage.
LIB_SRCS   := $(filter-out user/main.c,$(wildcard user/*.c user/*/*.c))
LIB_OBJS   := $(patsubst user/%.c,$(OUT)/user/%.o,$(LIB_SRCS))
LIB        := $(OUT)/libbedtrace.a
UNIT_SRCS  := $(wildcard tests/unit/test_*.c tests/unit/*/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))
# Small programs the integration tests run around one module (prom_serve: the /metrics server).
TOOL_SRCS  := $(wildcard tests/tools/*.c)
TOOL_BINS  := $(patsubst tests/tools/%.c,$(OUT)/tools/%,$(TOOL_SRCS))
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_OBJS  := $(patsubst user/%.c,$(OUT)/fuzz-obj/%.o,$(LIB_SRCS))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Iuser -I$(OUT) \
	      -DBT_VERSION=\"$(VERSION)\" -DBT_FUZZING

# `make install` (DESTDIR supported): the binary to sbindir (an administrator's tool, section 8),
# the man page, the systemd unit to the administrator's unit directory of a source install
# (systemd reads /usr/local/lib/systemd/system; /etc/systemd/system stays for local overrides),
# and /etc/default/bedtrace only if it does not exist yet.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
ENVFILE    := $(SYSCONFDIR)/default/bedtrace

.PHONY: all deps test unit unit-bins fuzz-bins test-fixtures demo fuzz bench man install uninstall \
	clean format lint
.DELETE_ON_ERROR:
# Keep every intermediate (.bpf.o for bpftool/veristat, skeletons, objects): a second make is a no-op.
.SECONDARY:

# The man page is part of the build so that `sudo make install` after `make` builds nothing.
all: bedtrace $(OUT)/bedtrace.8

deps:
	@bash scripts/deps.sh

$(OUT) $(OUT)/fuzz:
	@mkdir -p $@

$(OUT)/vmlinux.h: | $(OUT)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUT)/%.bpf.o: bpf/%.bpf.c $(OUT)/vmlinux.h | $(OUT)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

$(OUT)/user/%.o: user/%.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

# Rebuilt from scratch so that members of deleted sources do not linger.
$(LIB): $(LIB_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(OUT)/bedtrace: $(OUT)/user/main.o $(LIB)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

bedtrace: $(OUT)/bedtrace
	cp $< $@.tmp && mv -f $@.tmp $@

$(OUT)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests $< $(LIB) $(LDLIBS) -lcmocka -o $@

$(OUT)/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) -o $@

# The style and script of the `bedtrace report --html` page as C strings for user/report/html.c.
HTML_PARTS := user/report/html/page.css user/report/html/page.js
$(OUT)/report_html.h: $(HTML_PARTS) | $(OUT)
	for f in $(HTML_PARTS); do \
		echo "static const char rp_$$(basename $$f | tr . _)[] ="; \
		sed -e 's/[\\"?]/\\&/g' -e 's/^/"/' -e 's/$$/\\n"/' $$f; echo ";"; \
	done > $@
$(OUT)/user/report/html.o $(OUT)/fuzz-obj/report/html.o: $(OUT)/report_html.h

$(OUT)/fuzz-obj/%.o: user/%.c | $(SKELS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) -MMD -MP -c $< -o $@

$(OUT)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS) | $(OUT)/fuzz
	$(CLANG) $(FUZZ_FLAGS) -MMD -MP $< $(FUZZ_OBJS) $(LDLIBS) -o $@

unit-bins: $(UNIT_BINS)
fuzz-bins: $(FUZZ_BINS)

# `make unit` runs every unit test; `make unit T=http1` only tests/unit/**/test_http1.c.
UNIT_RUN   := $(if $(T),$(filter %/test_$(T),$(UNIT_BINS)),$(UNIT_BINS))
unit: $(UNIT_RUN) test-fixtures
	$(if $(UNIT_RUN),,$(error no unit test file tests/unit/**/test_$(T).c))
	@bash scripts/run-tests.sh --unit $(UNIT_RUN)

test: deps
	@$(MAKE) --no-print-directory all unit-bins fuzz-bins test-fixtures
	@bash scripts/run-tests.sh

test-fixtures: $(TOOL_BINS)
	@$(MAKE) --no-print-directory -C tests/data

fuzz: fuzz-bins
	@bash scripts/fuzz.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh

bench: all
	@bash scripts/bench/run-all.sh

# bedtrace.8 is the --help text of this very binary plus packaging/bedtrace.h2m, so a new or
# changed option reaches the page on the next build (help2man-run.sh and man-examples.sed say
# what they adjust in help2man's reading of argp's layout).
MAN_SRCS   := packaging/bedtrace.h2m packaging/help2man-run.sh packaging/man-examples.sed
man: $(OUT)/bedtrace.8

$(OUT)/bedtrace.8: $(OUT)/bedtrace $(MAN_SRCS)
	@command -v help2man >/dev/null || { echo "help2man is missing: make deps" >&2; exit 1; }
	BEDTRACE=$(OUT)/bedtrace help2man --no-info --section=8 --include=packaging/bedtrace.h2m \
		--output=$@.tmp packaging/help2man-run.sh
	sed -f packaging/man-examples.sed $@.tmp > $@ && rm -f $@.tmp

install: all
	install -D -m 0755 $(OUT)/bedtrace $(DESTDIR)$(SBINDIR)/bedtrace
	install -d -m 0755 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	gzip -9n < $(OUT)/bedtrace.8 > $(DESTDIR)$(MANDIR)/man8/bedtrace.8.gz
	chmod 0644 $(DESTDIR)$(MANDIR)/man8/bedtrace.8.gz
	sed 's|^ExecStart=/usr/local/sbin/bedtrace |ExecStart=$(SBINDIR)/bedtrace |' \
		packaging/bedtrace.service > $(DESTDIR)$(UNITDIR)/bedtrace.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/bedtrace.service
	@if [ -e $(DESTDIR)$(ENVFILE) ]; then \
		echo "kept $(DESTDIR)$(ENVFILE) (example: packaging/bedtrace.env)"; \
	else \
		echo "install -D -m 0600 packaging/bedtrace.env $(DESTDIR)$(ENVFILE)"; \
		install -D -m 0600 packaging/bedtrace.env $(DESTDIR)$(ENVFILE); \
	fi
	@sh packaging/systemd-steps.sh install "$(DESTDIR)" $(UNITDIR) $(ENVFILE)

uninstall:
	@sh packaging/systemd-steps.sh stop "$(DESTDIR)" $(UNITDIR) $(ENVFILE)
	rm -f $(DESTDIR)$(SBINDIR)/bedtrace $(DESTDIR)$(MANDIR)/man8/bedtrace.8.gz \
		$(DESTDIR)$(UNITDIR)/bedtrace.service
	@sh packaging/systemd-steps.sh uninstall "$(DESTDIR)" $(UNITDIR) $(ENVFILE)

FORMAT_SRCS = $(wildcard bpf/*.[ch] include/*.h user/*.[ch] user/*/*.[ch] tests/unit/*.[ch] \
	      tests/unit/*/*.[ch] tests/fuzz/*.[ch] tests/lib/*.[ch] tests/tools/*.[ch] \
	      tests/data/targets/*.[ch] scripts/bench/*.c)

format:
	clang-format -i $(FORMAT_SRCS)

lint: $(SKELS) $(OUT)/report_html.h
	clang-format --dry-run --Werror $(FORMAT_SRCS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--suppress=missingIncludeSystem --suppress=unknownMacro -Iinclude -Iuser -I$(OUT) user/

clean:
	rm -rf $(OUT) bedtrace
	@$(MAKE) --no-print-directory -C tests/data clean

-include $(shell find $(OUT) -name '*.d' 2>/dev/null)
