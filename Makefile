# timetap-sync -- plain GNU Makefile.  make; make check; make demo.
# SPDX-License-Identifier: ISC
#
# The version is set here and nowhere else: --version gets it as -DVERSION,
# the manual pages' .Os at install through $(SUBST); NEWS's newest entry
# must name it (test family 16 checks all three).
VERSION = 0.2

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/timetap-sync
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=

PKGS = libcurl jansson sqlite3 libbsd-overlay
CC ?= cc
# CPPFLAGS, CFLAGS and LDFLAGS are the builder's (dpkg-buildflags, a
# packager, the command line): they come last, after what the project
# needs, and are never replaced.
CFLAGS ?= -O2 -g
WARN = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition \
	-Wpointer-arith -Wcast-qual -Wwrite-strings -Wvla -Wundef \
	-Wimplicit-fallthrough -Wnull-dereference -Wdouble-promotion
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# The hardening Debian's dpkg-buildflags applies, on by default (HARDENING=no
# for a build that must not have it, the sanitizer one).  _FORTIFY_SOURCE
# only when optimising (glibc warns without -O) and only when the builder
# has not chosen a level (two -D would be a redefinition); -U first
# because some compilers predefine it.
HARDENING ?= yes
OPT_LEVEL = $(lastword $(filter -O%,$(CFLAGS)))
FORTIFY = $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,$(if \
	$(filter-out -O0,$(OPT_LEVEL)),-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2))
ifeq ($(HARDENING),yes)
HARDEN_CPPFLAGS = $(FORTIFY)
HARDEN_CFLAGS = -fPIE -fstack-protector-strong
HARDEN_LDFLAGS = -pie -Wl,-z,relro -Wl,-z,now
endif
ALL_CPPFLAGS = -I. $(HARDEN_CPPFLAGS) $(CPPFLAGS)
ALL_CFLAGS = $(WARN) $(PKG_CFLAGS) $(HARDEN_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(HARDEN_LDFLAGS) $(LDFLAGS)
LDLIBS = $(PKG_LIBS)

# Objects of the program (main is in timetap-sync.c); the unit tests link
# the same objects minus main.  The core never reaches up into the edge
# (the commands): `make lint` checks that no core file includes cmd.h,
# config.h (the whole configuration) or calls a cmd_ function.
CORE = util.c config.c store.c graph.c graph_events.c graph_writes.c \
	connection.c sha256.c sync.c tz_windows.c
EDGE = cmd.c usage.c book.c account.c cmd_sync.c cmd_profiles.c feed.c \
	views.c agenda.c doctor.c
CORE_FILES = $(CORE) $(wildcard $(CORE:.c=.h)) graph_p.h
LIBSRC = $(CORE) $(EDGE)
SRC = timetap-sync.c $(LIBSRC)
HDR = util.h config.h store.h cmd.h connection.h graph.h graph_p.h sha256.h sync.h tz_windows.h
UNITS = test_util test_config test_store test_graph test_sync test_tz

BUILD ?= build
OBJ = $(SRC:%.c=$(BUILD)/%.o)
LIBOBJ = $(LIBSRC:%.c=$(BUILD)/%.o)

# What make install puts where (test/install.list names the same files,
# relative to PREFIX, for the install test and distcheck).
MAN1 = timetap-sync.1
MAN5 = timetap-sync.conf.5
UNITFILES = $(wildcard contrib/systemd/*)
# The manual pages and units as installed: the version in .Os, and this
# PREFIX's paths in place of /usr/local's.
installed = sed -e 's|^\.Os$$|.Os timetap-sync $(VERSION)|' \
	-e 's|/usr/local/share/doc/timetap-sync|$(DOCDIR)|g' \
	-e 's|/usr/local/share/bash-completion/completions|$(BASHCOMPDIR)|g' \
	-e 's|/usr/local/lib/systemd/system|$(SYSTEMDUNITDIR)|g' \
	-e 's|/usr/local/bin/timetap-sync|$(1)/timetap-sync|g'
SUBST = $(call installed,$(BINDIR))

all: timetap-sync

timetap-sync: $(BUILD)/timetap-sync
	cp $(BUILD)/timetap-sync $@

$(BUILD)/timetap-sync: $(OBJ) $(BUILD)/.flags
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(OBJ) $(LDLIBS)

$(BUILD)/%.o: %.c $(HDR) $(BUILD)/.flags | $(BUILD) pkgs
	$(CC) $(ALL_CPPFLAGS) $(if $(filter timetap-sync,$*),$(VERSION_FLAG)) \
	    $(ALL_CFLAGS) -c -o $@ $<

# The flags a build directory's objects were made with, rewritten only when
# they change, which remakes them: objects made without make check's
# -Werror, or without a packager's CFLAGS, are never taken as made with.
BUILD_FLAGS = $(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LDLIBS)
$(BUILD)/.flags: FORCE | $(BUILD)
	@printf '%s\n' '$(subst ','\'',$(BUILD_FLAGS))' >$@.new && \
	    if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi
FORCE:

# --version, for timetap-sync.o alone; a new VERSION above rebuilds it.
VERSION_FLAG = -DVERSION='"$(VERSION)"'
$(BUILD)/timetap-sync.o: Makefile

# The libraries: a pkg-config failure is shown, not compiled past.
pkgs:
	@pkg-config --exists --print-errors $(PKGS) || { echo "make: the" \
	    "development packages above are missing: make deps (as root)" \
	    "installs them" >&2; exit 1; }

$(BUILD)/test_%: test/unit/test_%.c test/unit/unit.h $(LIBOBJ) $(HDR) \
    $(BUILD)/.flags | $(BUILD)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBOBJ) \
	    $(LDLIBS)

# The fuzz harnesses (test/fuzz/README): each fuzz_NAME.c with its corpus
# test/fuzz/corpus/NAME.  With replay.c for main they are built into
# build-asan (gcc, ASan+UBSan) and make check replays every corpus once;
# make fuzz builds them with clang's libFuzzer into build-fuzz instead.
FUZZERS = sanitize time config event delta calendars memberof batch token \
	devicecode redirect
FUZZ_MAIN = test/fuzz/replay.c
$(BUILD)/fuzz_%: test/fuzz/fuzz_%.c test/fuzz/fuzz.h $(FUZZ_MAIN) $(LIBOBJ) \
    $(HDR) $(BUILD)/.flags | $(BUILD)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	    $(FUZZ_MAIN) $(LIBOBJ) $(LDLIBS)

$(BUILD):
	mkdir -p $(BUILD)

units: $(UNITS:%=$(BUILD)/%)

# Install what a fresh Debian machine lacks (as root; a clear message otherwise).
deps:
	@sh scripts/deps.sh

# make check builds its own objects, in build-check, with -Werror (a
# warning fails the check), whatever build/ holds from make or make demo;
# the binary is checked for its hardening; the tests run on that build and
# on the sanitizer one.
CHECK_BUILD = build-check
check: deps
	$(MAKE) BUILD=$(CHECK_BUILD) CFLAGS="$(CFLAGS) -Werror" \
	    $(CHECK_BUILD)/timetap-sync units lint check-hardening check-units
	$(MAKE) check-asan-build
	sh test/run.sh $(CHECK_BUILD) build-asan

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
check-asan-build:
	$(MAKE) BUILD=build-asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" \
		HARDENING=no build-asan/timetap-sync $(UNITS:%=build-asan/%) \
		$(FUZZERS:%=build-asan/fuzz_%)

check-asan: deps check-asan-build
	sh test/run.sh build-asan

# Fuzzing (test/fuzz/README): clang's libFuzzer with ASan+UBSan, each
# harness FUZZ_SECONDS (default 60) over its corpus and the dictionary,
# new inputs into build-fuzz/new/NAME (never the tree); a crash fails,
# naming the input kept in build-fuzz/crashes/NAME.  FUZZERS="time
# config" runs some.  make fuzz-merge adds what the runs found that
# covers more to the corpora (-merge=1), for review before a commit.
FUZZ_SECONDS ?= 60
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) \
	-fsanitize=fuzzer-no-link
fuzz-build:
	@sh scripts/deps.sh fuzz
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="$(FUZZ_CFLAGS)" \
	    LDFLAGS="$(FUZZ_SAN) -fsanitize=fuzzer" FUZZ_MAIN= HARDENING=no \
	    $(FUZZERS:%=build-fuzz/fuzz_%)

fuzz: fuzz-build
	sh test/fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZERS)

fuzz-merge: fuzz-build
	sh test/fuzz/run.sh --merge build-fuzz 0 $(FUZZERS)

# PIE, RELRO, BIND_NOW, the stack protector and fortified calls in the
# binary, read with readelf (and hardening-check, where devscripts is).
check-hardening: $(BUILD)/timetap-sync
	sh scripts/check-hardening.sh $(BUILD)/timetap-sync

demo: deps all
	sh test/demo.sh

# Figures, not assertions: see bench/README.
bench: deps all bench/rusage
	python3 bench/bench.py

bench/rusage: bench/rusage.c
	$(CC) $(CFLAGS) -o $@ bench/rusage.c

# The systemd units (contrib/systemd), verified when systemd-analyze is
# there: ExecStart pointed at the built binary (verify wants it to
# exist), the template as an instance; any complaint fails.
check-units: $(BUILD)/timetap-sync
	@if ! command -v systemd-analyze >/dev/null 2>&1; then \
	    echo "check-units: no systemd-analyze here; units not verified"; \
	    exit 0; fi; \
	d=$$(mktemp -d) || exit 1; \
	for f in $(UNITFILES); do b=$${f##*/}; \
	    $(call installed,$(CURDIR)/$(BUILD)) $$f \
	    >"$$d/$$(echo $$b | sed 's/@\./@clinic./')"; done; \
	systemd-analyze verify --man=no "$$d"/* >"$$d/out" 2>&1; rc=$$?; \
	if [ $$rc -ne 0 ] || [ -s "$$d/out" ]; then cat "$$d/out" >&2; \
	    rm -rf "$$d"; echo "check-units: the units above do not verify" >&2; \
	    exit 1; fi; rm -rf "$$d"; echo "check-units: 4 units verified"

# The pages, linted with every warning and style message but one:
# "referenced manual not found" depends on which manuals the machine has
# (crontab(5) comes with cron, xdg-open(1) with xdg-utils, and ours are
# not installed while they are linted).  The installed pages also name
# the version in .Os, which mandoc's style check, made for a BSD base
# system's pages, would flag; the install test lints those.
lint:
	@mandoc -Tlint -W all man/$(MAN1) man/$(MAN5) 2>&1 | \
	    grep -v 'STYLE: referenced manual not found\|mandoc\.db' | \
	    { ! grep . >&2; } || { echo "lint: the manual pages above" \
	    "are not clean" >&2; exit 1; }
	@! grep -n '#include "cmd.h"\|cmd_[a-z_]*(' $(CORE_FILES) || { echo \
	    "lint: the core above reaches into the command layer" >&2; exit 1; }
	@! grep -n '#include "config.h"' $(filter-out config.%,$(CORE_FILES)) \
	    || { echo "lint: the core above takes the whole configuration" >&2; \
	    exit 1; }

install: all install-only

# Copies the files, builds nothing: the install test runs it on the build
# the other tests use (make install-only BUILD=build-check DESTDIR=...).
install-only:
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DOCDIR) \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 755 $(BUILD)/timetap-sync $(DESTDIR)$(BINDIR)/timetap-sync
	$(SUBST) man/$(MAN1) >$(DESTDIR)$(MANDIR)/man1/$(MAN1)
	$(SUBST) man/$(MAN5) >$(DESTDIR)$(MANDIR)/man5/$(MAN5)
	install -m 644 contrib/config.sample $(DESTDIR)$(DOCDIR)/config.sample
	install -m 644 contrib/bash-completion/timetap-sync \
	    $(DESTDIR)$(BASHCOMPDIR)/timetap-sync
	for f in $(UNITFILES); do \
	    $(SUBST) $$f >$(DESTDIR)$(SYSTEMDUNITDIR)/$${f##*/} || exit 1; done
	cd $(DESTDIR)$(MANDIR) && chmod 644 man1/$(MAN1) man5/$(MAN5)
	cd $(DESTDIR)$(SYSTEMDUNITDIR) && chmod 644 $(notdir $(UNITFILES))

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/timetap-sync \
	    $(DESTDIR)$(MANDIR)/man1/$(MAN1) $(DESTDIR)$(MANDIR)/man5/$(MAN5) \
	    $(DESTDIR)$(DOCDIR)/config.sample \
	    $(DESTDIR)$(BASHCOMPDIR)/timetap-sync \
	    $(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(notdir $(UNITFILES)))
	rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || :

# The release tarball, from the committed tree (git archive: what is
# tracked, nothing else); it builds and tests without git.
DIST = timetap-sync-$(VERSION)
dist:
	git archive --format=tar.gz --prefix=$(DIST)/ -o $(DIST).tar.gz HEAD
	@echo "dist: $(DIST).tar.gz"

# The tarball unpacked in a scratch directory: build, make check, install
# into a DESTDIR (exactly the files of test/install.list), uninstall
# (no file left).  DISTCHECK_TARGET=lint checks the mechanics in seconds.
DISTCHECK_TARGET = check
distcheck: dist
	@d=$$(mktemp -d) || exit 1; trap 'rm -rf "$$d"' EXIT; \
	tar -xzf $(DIST).tar.gz -C "$$d" && cd "$$d/$(DIST)" && \
	$(MAKE) all && $(MAKE) $(DISTCHECK_TARGET) && \
	$(MAKE) install DESTDIR="$$d/root" PREFIX=/usr && \
	(cd "$$d/root/usr" && find . ! -type d | sed 's|^\./||' | sort) \
	    >"$$d/got" && grep -v '^#' test/install.list | sort >"$$d/want" && \
	{ diff -u "$$d/want" "$$d/got" || { echo "distcheck: the installed" \
	    "files differ from test/install.list" >&2; exit 1; }; } && \
	$(MAKE) uninstall DESTDIR="$$d/root" PREFIX=/usr && \
	left=$$(find "$$d/root" ! -type d) && { [ -z "$$left" ] || { echo \
	    "distcheck: uninstall left $$left" >&2; exit 1; }; } && \
	echo "distcheck: $(DIST).tar.gz builds, passes make" \
	    "$(DISTCHECK_TARGET), installs and uninstalls"

clean:
	rm -rf build build-check build-asan build-fuzz timetap-sync bench/rusage \
	    timetap-sync-*.tar.gz

.PHONY: all units pkgs deps check check-asan check-asan-build check-hardening \
	check-units demo bench lint install install-only uninstall dist \
	fuzz fuzz-build fuzz-merge \
	distcheck clean FORCE
