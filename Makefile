# timetap-sync -- plain GNU Makefile.  make; make check; make demo.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
VERSION = 0.1

PKGS = libcurl jansson sqlite3 libbsd-overlay
CC ?= cc
CFLAGS ?= -O2 -g
WARN = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition \
	-Wpointer-arith -Wcast-qual -Wwrite-strings -Wvla -Wundef \
	-Wimplicit-fallthrough -Wnull-dereference -Wdouble-promotion
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = $(WARN) $(PKG_CFLAGS) -DVERSION='"$(VERSION)"' $(CFLAGS)
LDLIBS = $(PKG_LIBS)

# Objects of the program (main is in timetap-sync.c); the unit tests link
# the same objects minus main.  The core never reaches up into the edge
# (the commands): `make lint` checks that no core file includes cmd.h,
# config.h (the whole configuration) or calls a cmd_ function.
CORE = util.c config.c store.c graph.c graph_events.c graph_writes.c \
	connection.c sha256.c sync.c tz_windows.c
EDGE = cmd.c usage.c book.c account.c cmd_sync.c cmd_profiles.c feed.c
CORE_FILES = $(CORE) $(wildcard $(CORE:.c=.h)) graph_p.h
LIBSRC = $(CORE) $(EDGE)
SRC = timetap-sync.c $(LIBSRC)
HDR = util.h config.h store.h cmd.h connection.h graph.h graph_p.h sha256.h sync.h tz_windows.h
UNITS = test_util test_config test_store test_graph test_sync test_tz

BUILD ?= build
OBJ = $(SRC:%.c=$(BUILD)/%.o)
LIBOBJ = $(LIBSRC:%.c=$(BUILD)/%.o)

all: timetap-sync

timetap-sync: $(BUILD)/timetap-sync
	cp $(BUILD)/timetap-sync $@

$(BUILD)/timetap-sync: $(OBJ)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(OBJ) $(LDLIBS)

$(BUILD)/%.o: %.c $(HDR) | $(BUILD) pkgs
	$(CC) $(ALL_CFLAGS) -I. -c -o $@ $<

# The libraries: a pkg-config failure is shown, not compiled past.
pkgs:
	@pkg-config --exists --print-errors $(PKGS) || { echo "make: the" \
	    "development packages above are missing: make deps (as root)" \
	    "installs them" >&2; exit 1; }

$(BUILD)/test_%: test/unit/test_%.c test/unit/unit.h $(LIBOBJ) $(HDR) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -I. -o $@ $< $(LIBOBJ) $(LDLIBS)

$(BUILD):
	mkdir -p $(BUILD)

units: $(UNITS:%=$(BUILD)/%)

# Install what a fresh Debian machine lacks (as root; a clear message otherwise).
deps:
	@sh scripts/deps.sh

# -Werror here: a warning fails the check.
check: deps
	$(MAKE) all units CFLAGS="$(CFLAGS) -Werror"
	$(MAKE) lint
	$(MAKE) check-units
	$(MAKE) check-asan-build
	sh test/run.sh $(BUILD) build-asan

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
check-asan-build:
	$(MAKE) BUILD=build-asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" \
		build-asan/timetap-sync $(UNITS:%=build-asan/%)

check-asan: deps check-asan-build
	sh test/run.sh build-asan

demo: deps all
	sh test/demo.sh

# Figures, not assertions: see bench/README.
bench: deps all
	python3 bench/bench.py

# The systemd units (contrib/systemd), verified when systemd-analyze is
# there: ExecStart pointed at the built binary (verify wants it to
# exist), the template as an instance; any complaint fails.
check-units: timetap-sync
	@if ! command -v systemd-analyze >/dev/null 2>&1; then \
	    echo "check-units: no systemd-analyze here; units not verified"; \
	    exit 0; fi; \
	d=$$(mktemp -d) || exit 1; \
	for f in contrib/systemd/*; do b=$${f##*/}; \
	    sed 's|/usr/local/bin/timetap-sync|$(CURDIR)/timetap-sync|' $$f \
	    >"$$d/$$(echo $$b | sed 's/@\./@clinic./')"; done; \
	systemd-analyze verify --man=no "$$d"/* >"$$d/out" 2>&1; rc=$$?; \
	if [ $$rc -ne 0 ] || [ -s "$$d/out" ]; then cat "$$d/out" >&2; \
	    rm -rf "$$d"; echo "check-units: the units above do not verify" >&2; \
	    exit 1; fi; rm -rf "$$d"; echo "check-units: 4 units verified"

lint:
	mandoc -Tlint -W warning man/timetap-sync.1
	@! grep -n '#include "cmd.h"\|cmd_[a-z_]*(' $(CORE_FILES) || { echo \
	    "lint: the core above reaches into the command layer" >&2; exit 1; }
	@! grep -n '#include "config.h"' $(filter-out config.%,$(CORE_FILES)) \
	    || { echo "lint: the core above takes the whole configuration" >&2; \
	    exit 1; }

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 timetap-sync $(DESTDIR)$(BINDIR)/timetap-sync
	install -m 644 man/timetap-sync.1 $(DESTDIR)$(MANDIR)/man1/timetap-sync.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/timetap-sync $(DESTDIR)$(MANDIR)/man1/timetap-sync.1

clean:
	rm -rf build build-asan timetap-sync

.PHONY: all units pkgs deps check check-asan check-asan-build check-units demo bench lint install \
	uninstall clean
