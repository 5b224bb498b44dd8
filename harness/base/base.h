/* base — what every layer shares and that depends on nothing: the vocabulary (verdicts,
 * conntrack's TCP states and entries, protocols, families), time, text made safe to
 * show, and output files written whole.
 *
 * The error convention, for every layer: functions that face the system (netns,
 * observe, inject, journal, base) return 0 or -1 with errno, or a negative errno,
 * as each one says; the engine returns a status with a message, and adds the
 * scenario's file:line:column once, where a step failed.
 */
#ifndef CTLAB_BASE_H
#define CTLAB_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* ---- Version (version.c) ---- */

/* "0.13.0", and "0.13.0 (abc123def456)" with the commit built from, if known. */
const char *ctlab_version(void);
const char *ctlab_version_long(void);

/* ---- Vocabulary (vocab.c) ---- */

/* What conntrack made of a packet, as the observer's nft rules log it. */
enum verdict {
	VERDICT_UNSEEN,		/* no record arrived for the packet */
	VERDICT_NEW,
	VERDICT_ESTABLISHED,
	VERDICT_RELATED,
	VERDICT_INVALID,
	VERDICT_UNTRACKED,
	VERDICT_COUNT
};

const char *verdict_name(enum verdict verdict);
/* 0 and *verdict set, or -1 for an unknown name ("unseen" is not parsed). */
int verdict_parse(const char *name, enum verdict *verdict);

/* Conntrack's TCP states, numbered as the kernel's enum tcp_conntrack. */
const char *tcp_state_name(int state);
/* The state number, or -1 for an unknown name (NONE, SYN_SENT, ..., CLOSE, SYN_SENT2). */
int tcp_state_parse(const char *name);

enum protocol { PROTO_TCP, PROTO_UDP, PROTO_ICMP };

const char *protocol_name(enum protocol protocol);	/* "tcp", "udp", "icmp" */
/* 0 and *protocol set, or -1 for an unknown name. */
int protocol_parse(const char *name, enum protocol *protocol);

const char *family_name(int family);	/* "ipv4" / "ipv6" */

/* A conntrack entry as ctnetlink reported it. */
struct ct_entry {
	bool found;
	int state;			/* tcp_state_parse numbering */
	bool assured;
	bool seen_reply;
	uint32_t timeout;		/* seconds left */
};

/* ---- Time (vocab.c): CLOCK_MONOTONIC since @start ---- */

double seconds_since(const struct timespec *start);
long ms_since(const struct timespec *start);
/* The wall-clock time @when (0: now) in strftime @format, UTC or local, into @buf. */
void time_text(char *buf, size_t size, const char *format, time_t when, bool utc)
	__attribute__((format(strftime, 3, 0)));
/* The ISO 8601 UTC time of results files: "2026-12-02T15:20:11Z". */
#define TIME_ISO_UTC	"%Y-%m-%dT%H:%M:%SZ"

/* ---- Text safe to show (safetext.c) ---- */

/*
 * safetext_utf8 - the length of the UTF-8 sequence at @s[0..@len) (1 for
 * ASCII), its code point in *@code; 0 when it is malformed, overlong, a
 * surrogate or beyond U+10FFFF.
 */
size_t safetext_utf8(const unsigned char *s, size_t len, uint32_t *code);

/*
 * safetext_is_control - true for what a terminal acts on rather than shows:
 * C0 controls but tab, DEL, C1 controls, and the bidirectional overrides and
 * isolates that reorder what is displayed (U+202A..202E, U+2066..2069).
 */
bool safetext_is_control(uint32_t code);

/*
 * safetext_escape - rewrite the string in @buf (of @size bytes) so that it
 * shows as it is: each control character (see above; newlines kept when
 * @keep_newlines) and each byte that is not UTF-8 becomes \xNN (a control
 * beyond U+00FF becomes \u{NNNN}).  A result that does not fit is cut at a
 * character boundary.  Returns true when something was escaped.
 */
bool safetext_escape(char *buf, size_t size, bool keep_newlines);

/* ---- Output files (outfile.c) ---- */

struct outfile;

/*
 * outfile_open - start writing @path. The text goes to a new file beside it
 * (".NAME.XXXXXXXX" in the same directory, created with O_EXCL, mode 0644
 * less the umask) that outfile_commit renames over @path: a reader sees the
 * old file or the whole new one, and what is at @path is never opened. An
 * existing @path must be a regular file; it is replaced (a hard link to it
 * elsewhere keeps the old text). A symlink there is refused rather than
 * followed or replaced (it may be the user's); one planted after this check
 * is replaced by the rename, never followed. A stream is written as it is: a
 * character device or FIFO owned by root or the caller, or such a symlink to
 * one (/dev/stdout, /dev/null, >(jq .)); a FIFO nobody reads is ENXIO. Only the last
 * component is checked: the directories on the way are the caller's choice.
 * Returns the file, or NULL with errno set: ELOOP @path is a symlink, EISDIR
 * a directory, EEXIST something else that is not a regular file (a FIFO, a
 * device), ENAMETOOLONG, ENOMEM, or errors of open(2).
 */
struct outfile *outfile_open(const char *path);

/* outfile_stream - the stream to write the text to; the outfile owns it. */
FILE *outfile_stream(const struct outfile *file);

/*
 * outfile_commit - close the stream and rename the new file over the path
 * given to outfile_open; free @file. Returns 0, or -errno (EIO for an
 * earlier write error of the stream) with the new file removed and the path
 * left as it was.
 */
int outfile_commit(struct outfile *file);

/* outfile_discard - close and remove the new file, the path left as it was; free
 * @file. NULL is a no-op. */
void outfile_discard(struct outfile *file);

/*
 * outfile_mkdir - make @path a directory (mode 0755 less the umask) unless
 * there is one; what is there must be a real directory, not a symlink to
 * one. Returns 0 or -errno: ELOOP a symlink, ENOTDIR something else, errors
 * of mkdir(2) and lstat(2).
 */
int outfile_mkdir(const char *path);

/*
 * outfile_strerror - what the errno @err (positive) of the functions above
 * means for a user: "a symlink: refusing to write through it" for ELOOP,
 * "not a regular file: refusing to replace it" for EEXIST, else strerror.
 */
const char *outfile_strerror(int err);

#endif
