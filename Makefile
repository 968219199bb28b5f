# mod_mirrorsel — build, test, demo, bench, install.
#
#   make            build/mod_mirrorsel.so and build/mirrorsel
#   make test       every test (unit + integration), installing what is missing
#   make demo       a real httpd with the module and three local mirrors
#   make bench      the benchmark against a plain Apache Redirect
#   make install    honours DESTDIR and PREFIX
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
SUPP_SRC := $(sort $(wildcard t/support/*.c))
SUPP_BIN := $(SUPP_SRC:t/support/%.c=$(BUILD)/t/%)
SCHEMA   := $(sort $(wildcard schema/[0-9][0-9][0-9]_*.sql))

.PHONY: all test unit integration demo bench install clean deps check-core
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

unit: all $(UNIT_BIN) $(SUPP_BIN)

test: deps
	$(MAKE) all unit check-core
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

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/apache2/modules \
	    $(DESTDIR)$(PREFIX)/share/mirrorsel/conf $(DESTDIR)$(PREFIX)/share/mirrorsel/schema
	install -m 0755 $(BUILD)/mirrorsel $(DESTDIR)$(PREFIX)/bin/mirrorsel
	install -m 0644 $(BUILD)/mod_mirrorsel.so $(DESTDIR)$(PREFIX)/lib/apache2/modules/mod_mirrorsel.so
	install -m 0644 conf/* $(DESTDIR)$(PREFIX)/share/mirrorsel/conf/
	install -m 0644 schema/*.sql $(DESTDIR)$(PREFIX)/share/mirrorsel/schema/

clean:
	rm -rf build build-asan
