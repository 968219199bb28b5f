# mod_mirrorsel — build, test, demo, bench, install.
#
#   make            build/mod_mirrorsel.so and build/mirrorsel
#   make test       every test (unit + integration), installing what is missing
#   make demo       a real httpd with the module and three local mirrors
#   make bench      the benchmark against a plain Apache Redirect
#   make install    honours DESTDIR, PREFIX (the tool) and MODULEDIR (the module;
#                   default: apxs -q LIBEXECDIR)
#   make SANITIZE=1 ...   the same under AddressSanitizer/UBSan

PREFIX   ?= /usr/local
DESTDIR  ?=
APXS     ?= apxs
BUILD    ?= build

APXS_CFLAGS  := $(shell $(APXS) -q CFLAGS 2>/dev/null)
APXS_INC     := $(shell $(APXS) -q INCLUDEDIR 2>/dev/null)
APR_CPPFLAGS := $(shell apr-1-config --cppflags --includes 2>/dev/null) \
                $(shell apu-1-config --includes 2>/dev/null)
APR_LIBS     := $(shell apr-1-config --link-ld 2>/dev/null) \
                $(shell apu-1-config --link-ld 2>/dev/null)
MODDIR       := $(shell $(APXS) -q LIBEXECDIR 2>/dev/null)
MODULEDIR    ?= $(if $(MODDIR),$(MODDIR),/usr/lib/apache2/modules)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -fPIC $(WARN) -fstack-protector-strong -D_FORTIFY_SOURCE=2
ifeq ($(SANITIZE),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILD   := build-asan
endif
CPPFLAGS += -Isrc -I$(BUILD) $(APR_CPPFLAGS)
LIBS     := -lmaxminddb -lsqlite3 -lcurl -lcrypto $(APR_LIBS) -lm

CORE_SRC := src/ms_net.c src/ms_country.c src/ms_path.c src/ms_geo.c src/ms_db.c \
            src/ms_select.c src/ms_lookup.c src/ms_cache.c src/ms_stripes.c src/ms_order_cache.c \
            src/ms_view.c \
            src/ms_buf.c src/ms_json.c src/ms_xml.c src/ms_meta4.c src/ms_mirrorlist.c \
            src/ms_links.c \
            src/ms_scan_parse.c src/ms_scan_walk.c src/ms_scan_rsync.c src/ms_scan_curl.c \
            src/ms_probe.c
CORE_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/%.o) $(BUILD)/ms_schema.o
TOOL_SRC := src/mirrorsel.c $(sort $(wildcard src/ms_cmd_*.c))
TOOL_OBJ := $(TOOL_SRC:src/%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard t/unit/*.c))
UNIT_BIN := $(UNIT_SRC:t/unit/%.c=$(BUILD)/t/%)
# The fuzzing harnesses' properties over their corpus, without libFuzzer
# (fuzz/replay.c): part of `make test` (see "Fuzzing" below).
FUZZ_TARGETS := scan_parse path net country
REPLAY_BIN   := $(FUZZ_TARGETS:%=$(BUILD)/t/fuzz_%)
SUPP_SRC := $(sort $(wildcard t/support/*.c))
SUPP_BIN := $(SUPP_SRC:t/support/%.c=$(BUILD)/t/%)
SCHEMA   := $(sort $(wildcard schema/[0-9][0-9][0-9]_*.sql))

.PHONY: all test unit integration demo bench install clean deps check-core check-install
all: $(BUILD)/mod_mirrorsel.so $(BUILD)/mirrorsel

$(BUILD) $(BUILD)/t:
	mkdir -p $@

# The schema migrations are compiled in, so the tool and the module agree.
$(BUILD)/ms_schema.c: $(SCHEMA) scripts/embed-schema.sh | $(BUILD)
	sh scripts/embed-schema.sh $(SCHEMA) > $@.tmp && mv $@.tmp $@

$(BUILD)/ms_schema.o: $(BUILD)/ms_schema.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: src/%.c src/*.h | $(BUILD)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libmscore.a: $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

# The module: httpd glue only, compiled with the flags apxs reports.
$(BUILD)/mod_mirrorsel.o: src/mod_mirrorsel.c src/*.h | $(BUILD)
	$(CC) $(CPPFLAGS) -I$(APXS_INC) $(APXS_CFLAGS) $(CFLAGS) -c -o $@ $<

# PCRE2: the module JIT-compiles its masks (httpd itself links libpcre2-8).
$(BUILD)/mod_mirrorsel.so: $(BUILD)/mod_mirrorsel.o $(BUILD)/libmscore.a
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LIBS) -lpcre2-8

$(BUILD)/mirrorsel: $(TOOL_OBJ) $(BUILD)/libmscore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/t/%: t/unit/%.c t/unit/tap.h $(BUILD)/libmscore.a | $(BUILD)/t
	$(CC) $(CPPFLAGS) -It/unit $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libmscore.a $(LIBS)

# Test support programs (fixtures that write through the core's own functions).
$(BUILD)/t/%: t/support/%.c $(BUILD)/libmscore.a | $(BUILD)/t
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libmscore.a $(LIBS)

# The core must not know httpd: only mod_mirrorsel*.c may include its headers.
check-core:
	@if grep -lE '#include +[<"](httpd|http_[a-z_]+|ap_[a-z_]+)\.h' src/ms_*.c src/ms_*.h; then \
	    echo "core files above include httpd headers" >&2; exit 1; fi

deps:
	sh scripts/deps.sh

unit: all $(UNIT_BIN) $(SUPP_BIN) $(REPLAY_BIN)

check-install: all
	rm -rf $(BUILD)/install-check
	$(MAKE) install DESTDIR=$(CURDIR)/$(BUILD)/install-check
	sh scripts/check-install.sh $(BUILD)/install-check

test: deps
	$(MAKE) all unit check-core check-install
	sh scripts/run-tests.sh $(BUILD)

demo: deps all
	bash scripts/demo.sh $(BUILD)

# The benchmark's data generator: writes through the core (bench/ms_benchgen.c).
$(BUILD)/ms_benchgen: bench/ms_benchgen.c $(BUILD)/libmscore.a | $(BUILD)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libmscore.a $(LIBS)

# Cost and size of each output for a 50-mirror answer (bench/outputs_bench.c).
$(BUILD)/outputs_bench: bench/outputs_bench.c $(BUILD)/libmscore.a | $(BUILD)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libmscore.a $(LIBS)

# The request path's core, timed on make bench's data (see the file's head).
$(BUILD)/lookup_bench: bench/lookup_bench.c $(BUILD)/libmscore.a | $(BUILD)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libmscore.a $(LIBS)

bench: deps all $(BUILD)/ms_benchgen
	sh scripts/bench.sh $(BUILD)

# The module goes where httpd's own modules are (apxs's LIBEXECDIR, which
# conf/mirrorsel.load names), the tool under PREFIX (the units in conf/ and
# the README's crontab run /usr/local/bin/mirrorsel); check-install checks
# that every path conf/ names is installed.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MODULEDIR) \
	    $(DESTDIR)$(PREFIX)/share/mirrorsel/conf $(DESTDIR)$(PREFIX)/share/mirrorsel/schema
	install -m 0755 $(BUILD)/mirrorsel $(DESTDIR)$(PREFIX)/bin/mirrorsel
	install -m 0644 $(BUILD)/mod_mirrorsel.so $(DESTDIR)$(MODULEDIR)/mod_mirrorsel.so
	install -m 0644 conf/* $(DESTDIR)$(PREFIX)/share/mirrorsel/conf/
	install -m 0644 schema/*.sql $(DESTDIR)$(PREFIX)/share/mirrorsel/schema/

clean:
	rm -rf build build-asan

# ---------------------------------------------------------------------------
# Fuzzing: libFuzzer harnesses in fuzz/ for the parsers of untrusted input,
# built with clang under ASan and UBSan (never part of `make test`, which runs
# the same harnesses over their corpus with fuzz/replay.c instead).
#
#   make fuzz               each harness in turn for FUZZ_SECONDS (default 60)
#   make fuzz-replay        each harness once over its seed corpus (seconds)
#
# `make fuzz` works on a copy of fuzz/corpus/<target> in $(BUILD)/fuzz/corpus/,
# which keeps growing from run to run; fuzz/corpus/ itself is only read. A
# crash, leak, sanitizer report or failed property stops the run and leaves
# the input as $(BUILD)/fuzz/<target>-crash-*; add it to fuzz/corpus/<target>
# once fixed.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer -std=gnu11 $(WARN) \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

# The core files each harness needs, and the longest input worth trying.
FUZZ_SRC_scan_parse := src/ms_scan_parse.c src/ms_path.c
FUZZ_SRC_path       := src/ms_path.c
FUZZ_SRC_net        := src/ms_net.c
FUZZ_SRC_country    := src/ms_country.c
FUZZ_LEN_scan_parse := 4096
FUZZ_LEN_path       := 1024
FUZZ_LEN_net        := 128
FUZZ_LEN_country    := 16

.PHONY: fuzz fuzz-replay

$(FUZZ_DIR):
	mkdir -p $@

.SECONDEXPANSION:
$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $$(FUZZ_SRC_$$*) src/*.h | $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Isrc $(APR_CPPFLAGS) -o $@ $< $(FUZZ_SRC_$*) $(APR_LIBS)

# The same harnesses with fuzz/replay.c's main(), built like the unit tests
# (gcc; under SANITIZE=1 with ASan/UBSan): each corpus file and 10,000 variants.
$(BUILD)/t/fuzz_%: fuzz/fuzz_%.c fuzz/replay.c fuzz/fuzz.h $(BUILD)/libmscore.a | $(BUILD)/t
	$(CC) $(CPPFLAGS) $(CFLAGS) -DFUZZ_TARGET='"$*"' -DFUZZ_MAX_LEN=$(FUZZ_LEN_$*) \
	    $(LDFLAGS) -o $@ $< fuzz/replay.c $(BUILD)/libmscore.a $(LIBS)

fuzz: $(FUZZ_BIN)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	    cp fuzz/corpus/$$t/* $(FUZZ_DIR)/corpus/$$t/; \
	    dict=; if [ -f fuzz/$$t.dict ]; then dict=-dict=fuzz/$$t.dict; fi; \
	    echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	    max=; case $$t in \
	        scan_parse) max=$(FUZZ_LEN_scan_parse);; path) max=$(FUZZ_LEN_path);; \
	        net) max=$(FUZZ_LEN_net);; country) max=$(FUZZ_LEN_country);; esac; \
	    $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=$$max -timeout=10 \
	        -print_final_stats=1 $$dict -artifact_prefix=$(FUZZ_DIR)/$$t- \
	        $(FUZZ_DIR)/corpus/$$t; \
	done

fuzz-replay: $(FUZZ_BIN)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    echo "== fuzz_$$t over fuzz/corpus/$$t"; \
	    $(FUZZ_DIR)/fuzz_$$t -artifact_prefix=$(FUZZ_DIR)/$$t- fuzz/corpus/$$t/*; \
	done
