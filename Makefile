# SPDX-License-Identifier: MIT
# seatrace build. `make` builds ./seatrace; `make test` runs every test;
# `make V=1` shows the commands.

OUTPUT ?= build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
LIBBPF_MIN := 1.0
# Register tables, syscall numbers and the prologue decoder are x86-64's.
HOST_ARCH := $(shell uname -m)
ifneq ($(HOST_ARCH),x86_64)
$(error seatrace builds on x86_64 only, and this machine is $(HOST_ARCH): its register \
tables, syscall numbers and prologue decoder are x86-64's)
endif
ARCH := x86
PYTEST ?= pytest-3

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -I$(OUTPUT) -Ibpf -Iuser -MMD -MP
# libyaml: the policy file (user/policy.c).
LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz -lpthread -lyaml \
	$(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)

# The BPF units, linked into one object in this order (probe.bpf.c defines what they share).
BPF_SRCS := bpf/probe.bpf.c bpf/fallback.bpf.c bpf/syscalls.bpf.c
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
USER_SRCS := $(wildcard user/*.c)
# The loader: the files that use libbpf or the skeleton. Everything else is pure
# logic, unit-tested without root or libbpf.
LOADER_SRCS := user/main.c user/attach.c user/targets.c user/kstats.c user/ring.c user/launch.c \
	user/reload.c user/kcount.c user/ratelimit.c user/rulecount.c
# Linked with libsystemd, which the unit tests do without.
SERVICE_SRCS := user/notify.c user/sink_journal.c
PURE_SRCS := $(filter-out $(LOADER_SRCS) $(SERVICE_SRCS),$(USER_SRCS))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/unit/%,$(wildcard tests/unit/test_*.c))
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
PURE_SAN_OBJS := $(patsubst user/%.c,$(OUTPUT)/san/%.o,$(PURE_SRCS))

.PHONY: all clean test check demo unit unit-bins e2e bench vmlinux deps format
.DELETE_ON_ERROR:
# Objects reached only through pattern rules would count as intermediate and be deleted.
.SECONDARY: $(PURE_SAN_OBJS) $(USER_OBJS)

all: seatrace

seatrace: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

$(OUTPUT)/user/%.o: user/%.c | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(BASE_CFLAGS) -c $< -o $@

# The skeleton exists before any user object is compiled (make -j from a fresh clone);
# which objects really include it, -MMD records for later builds.
$(USER_OBJS): | $(OUTPUT)/seatrace.skel.h

# Checked in a recipe, not when the Makefile is read: `make check` installs libbpf first.
$(OUTPUT)/libbpf-ok: | $(OUTPUT)
	$(Q)v=$$(pkg-config --modversion libbpf 2>/dev/null) || { \
		echo "seatrace: libbpf not found (pkg-config libbpf): run 'sudo make deps'" >&2; \
		exit 1; }; \
	pkg-config --atleast-version=$(LIBBPF_MIN) libbpf || { \
		echo "seatrace: libbpf $$v is too old: seatrace needs $(LIBBPF_MIN) or later" >&2; \
		exit 1; }; \
	touch $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c vmlinux/vmlinux.h $(OUTPUT)/libbpf-ok | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-Ivmlinux -Ibpf -I/usr/include/$(shell $(CC) -dumpmachine) -MMD -MP -c $< -o $@

# One object, as the skeleton wants: the static linker resolves the units' extern maps and
# settings to probe.bpf.c's definitions.
$(OUTPUT)/seatrace.bpf.o: $(BPF_OBJS)
	$(call msg,BPF-LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(OUTPUT)/seatrace.skel.h: $(OUTPUT)/seatrace.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name seatrace_bpf > $@

# Unit tests: pure logic under ASan+UBSan, no root needed.
$(OUTPUT)/san/%.o: user/%.c | $(OUTPUT)/san
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) -O1 -g $(SAN) $(BASE_CFLAGS) -c $< -o $@

$(OUTPUT)/unit/%: tests/unit/%.c $(PURE_SAN_OBJS) | $(OUTPUT)/unit
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) -O1 -g $(SAN) $(BASE_CFLAGS) $< $(PURE_SAN_OBJS) -lcmocka -lelf -lm -lz -lpthread -lyaml -o $@

unit-bins: $(UNIT_TESTS)

unit: $(UNIT_TESTS)
	$(Q)tools/check-layers.py $(LOADER_SRCS)
	$(Q)set -e; for t in $(UNIT_TESTS); do \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; done

e2e: seatrace
	$(Q)$(PYTEST) -q tests/e2e

test: unit e2e

# The README's commands: each installs what is missing first.
check: deps
	$(Q)$(MAKE) --no-print-directory all unit-bins
	$(Q)tools/fetch-pythons.sh >/dev/null || \
		echo "check: Debian's trixie/sid interpreters could not be fetched: their tests skip"
	$(Q)tools/build-cpython.sh freethreaded >/dev/null || \
		echo "check: a free-threaded CPython could not be built: its tests skip"
	$(Q)tools/build-cpython.sh static >/dev/null || \
		echo "check: a statically linked CPython without the probe could not be built: its tests skip"
	$(Q)$(MAKE) --no-print-directory -j1 test

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	./seatrace -- /usr/bin/python3.11 tools/demo.py

# The formatter's micro-benchmark (ns per record, decode + output), then the tracer's.
PURE_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(PURE_SRCS))
$(OUTPUT)/bench_output: tests/unit/bench_output.c $(PURE_OBJS) | $(OUTPUT)
	$(call msg,CC-BENCH,$@)
	$(Q)$(CC) $(CFLAGS) $(BASE_CFLAGS) $< $(PURE_OBJS) -lelf -lm -lz -lpthread -lyaml -o $@

bench: seatrace $(OUTPUT)/bench_output
	$(Q)$(OUTPUT)/bench_output
	$(Q)/usr/bin/python3.11 tools/bench.py
	$(Q)/usr/bin/python3.11 tools/soak.py

# Regenerate the checked-in kernel type header from the running kernel.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

deps:
	tools/install-deps.sh

format:
	clang-format -i bpf/*.c bpf/*.h user/*.c user/*.h tests/unit/*.c

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/user $(OUTPUT)/san $(OUTPUT)/unit:
	$(Q)mkdir -p $@

clean:
	rm -rf $(OUTPUT) seatrace

-include $(wildcard $(OUTPUT)/bpf/*.d $(OUTPUT)/user/*.d $(OUTPUT)/san/*.d $(OUTPUT)/unit/*.d)

# --- Install, and the Debian package (docs/install.md) ---------------------------------------
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
# The daemon's configuration belongs in /etc whatever the prefix; systemd reads units under
# /usr/local/lib too.
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL ?= install
VERSION = $(shell sed -n 's/.*argp_program_version = "seatrace \([^"]*\)".*/\1/p' user/cli.c)
DEB_REVISION ?= 1
DEB_DIR := $(OUTPUT)/deb
DEB_ROOT := $(DEB_DIR)/root
DEB_OBJS := $(patsubst user/%.c,$(DEB_DIR)/obj/user/%.o,$(USER_SRCS))
DEB_FILE = $(OUTPUT)/seatrace_$(VERSION)-$(DEB_REVISION)_amd64.deb

.PHONY: install install-files uninstall deb

# BIN: the binary to install.
BIN ?= seatrace
define install_files
	$(Q)$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/seatrace
	$(Q)$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(SBINDIR)/seatrace
	$(Q)$(INSTALL) -m 0644 pkg/seatrace.8 $(DESTDIR)$(MANDIR)/man8/seatrace.8
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		pkg/seatrace.service.in > $(DESTDIR)$(UNITDIR)/seatrace.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/seatrace.service
	$(Q)conf=$(DESTDIR)$(SYSCONFDIR)/seatrace/seatrace.conf; \
	if [ -e "$$conf" ]; then echo "install: keeping $$conf, which exists"; \
	else $(INSTALL) -m 0644 pkg/seatrace.conf "$$conf"; fi
endef

install: seatrace
	$(install_files)
	$(Q)echo "install: seatrace in $(DESTDIR)$(SBINDIR); start it with" \
		"'systemctl daemon-reload && systemctl enable --now seatrace'"

# The files alone, for `deb`.
install-files:
	$(install_files)

# The configuration goes only if it is still the one installed: edits are the user's.
uninstall:
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/seatrace $(DESTDIR)$(MANDIR)/man8/seatrace.8 \
		$(DESTDIR)$(UNITDIR)/seatrace.service
	$(Q)conf=$(DESTDIR)$(SYSCONFDIR)/seatrace/seatrace.conf; \
	if cmp -s pkg/seatrace.conf "$$conf"; then rm -f "$$conf"; \
		rmdir $(DESTDIR)$(SYSCONFDIR)/seatrace 2>/dev/null || true; \
	elif [ -e "$$conf" ]; then echo "uninstall: keeping $$conf, which was changed"; fi

# The package's binary is built apart, with Debian's hardening flags (PIE, RELRO, BIND_NOW,
# fortify, stack protector), so that ./seatrace stays the developer's build.
DEB_BUILDFLAGS = DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags
DEB_CFLAGS = $(shell $(DEB_BUILDFLAGS) --get CFLAGS) $(shell $(DEB_BUILDFLAGS) --get CPPFLAGS)
DEB_LDFLAGS = $(shell $(DEB_BUILDFLAGS) --get LDFLAGS)

deb:
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(DEB_DIR)/obj CFLAGS="$(DEB_CFLAGS)" $(DEB_OBJS)
	$(call msg,LINK,$(DEB_DIR)/seatrace)
	$(Q)$(CC) $(DEB_CFLAGS) $(DEB_LDFLAGS) $(DEB_OBJS) $(LIBS) -o $(DEB_DIR)/seatrace
	$(Q)strip --strip-unneeded --remove-section=.comment --remove-section=.note \
		$(DEB_DIR)/seatrace
	$(call msg,DEB,$(DEB_FILE))
	$(Q)rm -rf $(DEB_ROOT)
	$(Q)$(MAKE) --no-print-directory install-files BIN=$(DEB_DIR)/seatrace DESTDIR=$(DEB_ROOT) \
		PREFIX=/usr UNITDIR=/lib/systemd/system SYSCONFDIR=/etc
	$(Q)gzip -9n $(DEB_ROOT)/usr/share/man/man8/seatrace.8
	$(Q)$(INSTALL) -d $(DEB_ROOT)/usr/share/doc/seatrace $(DEB_ROOT)/DEBIAN
	$(Q)$(INSTALL) -m 0644 pkg/deb/copyright $(DEB_ROOT)/usr/share/doc/seatrace/copyright
	$(Q)gzip -9n < pkg/deb/changelog > $(DEB_ROOT)/usr/share/doc/seatrace/changelog.Debian.gz
	$(Q)$(INSTALL) -m 0755 pkg/deb/postinst pkg/deb/prerm pkg/deb/postrm $(DEB_ROOT)/DEBIAN/
	$(Q)echo /etc/seatrace/seatrace.conf > $(DEB_ROOT)/DEBIAN/conffiles
	$(Q)cd $(DEB_ROOT) && find usr lib -type f -print0 | sort -z | xargs -0 md5sum \
		> DEBIAN/md5sums && chmod 0644 DEBIAN/md5sums DEBIAN/conffiles
	$(Q)deps=$$(pkg/deb/depends.sh $(DEB_ROOT)/usr/sbin/seatrace) && \
	sed -e 's|@VERSION@|$(VERSION)-$(DEB_REVISION)|' -e "s|@DEPENDS@|$$deps|" \
		-e "s|@SIZE@|$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)|" \
		pkg/deb/control.in > $(DEB_ROOT)/DEBIAN/control
	$(Q)dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $(DEB_FILE) >/dev/null
	$(Q)echo "deb: $(DEB_FILE)"
