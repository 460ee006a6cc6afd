/* SPDX-License-Identifier: MIT */
/*
 * The ABI shared by the BPF programs and userspace: ring-buffer event layouts, counters and
 * limits. Fixed-width types only, largest fields first. The layouts and the limits the BPF code
 * relies on are static-asserted at the end, so both compiles (BPF and userspace) check them.
 */
#ifndef BEDTRACE_H
#define BEDTRACE_H

/*
 * x86-64 only: the BPF programs read syscall arguments from x86-64 registers (regs->di, ...),
 * match x86-64 syscall numbers and the Go register ABI (r14); userspace decodes x86-64
 * instructions to place probes.
 */
#if defined(__bpf__)
#if !defined(__TARGET_ARCH_x86)
#error "bedtrace BPF programs are x86-64 only: build with -D__TARGET_ARCH_x86"
#endif
#elif !defined(__x86_64__)
#error "bedtrace supports x86-64 only (syscalls, registers, instruction decoding)"
#endif

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Deepest traced-call nesting kept per thread; deeper calls are counted and not traced. A power
 * of two: BPF bounds frame indexes with & (BT_MAX_DEPTH - 1).
 */
#define BT_MAX_DEPTH 64
/* Threads with a stack of traced calls at once (stack.bpf.h); calls of more are counted, not
 * traced. */
#define BT_MAX_THREADS 8192
/* Pending uretprobe return instances of a thread examined for return addresses (dump_stacks). */
#define BT_MAX_RI 256
/* Goroutines of Go targets with open traced calls at once. */
#define BT_MAX_GOROUTINES 16384
/* Saved return addresses per thread while an exception unwinds through traced frames. */
#define BT_MAX_RESTORE 32
/* Probe ids: bpf cookie values; the entry-stop probe of launch mode uses BT_PROBE_ENTRY_STOP. */
#define BT_PROBE_ENTRY_STOP 0xffffffffu
/* Probe id of the SERVER frame syscap opens when a request arrives on a plain socket. */
#define BT_PROBE_SERVER 0xfffffffeu

enum bt_event_type {
	BT_EV_CALL = 1,	 /* struct bt_call_event: a traced call ended */
	BT_EV_DATA = 2,	 /* struct bt_data_event: bytes read or written (TLS or socket) */
	BT_EV_CLOSE = 3, /* struct bt_conn_event: connection closed / SSL object freed */
	BT_EV_MMAP = 4,	 /* struct bt_mmap_event: target mapped new executable code */
	BT_EV_UNWIND =
	    5,		/* struct bt_unwind_event: rewrite return slots, then SIGCONT the target */
	BT_EV_CONN = 6, /* struct bt_conn_event: socket and peer of a connection learned */
	BT_EV_EXIT = 7, /* struct bt_proc_event: a traced process ended (last thread exited) */
	BT_EV_FORK = 8, /* struct bt_proc_event: a traced process forked a child (followed) */
	BT_EV_EXEC = 9, /* struct bt_proc_event: a traced process executed a new program */
	BT_EV_SELECT = 10, /* struct bt_select_event: -e / -a found a process to trace */
};

/*
 * How processes are chosen. PIDS: the -p / -- targets and their followed children; every probe
 * link names its process. EXE (-e) and ALL (-a): links are per file, shared by every process
 * that maps it, and each BPF program first checks that the process is selected: EXE, the procs
 * map (a process enters it when it executes a selected file); ALL, every process but those in
 * the excluded map.
 */
enum bt_select_mode {
	BT_SELECT_PIDS = 0,
	BT_SELECT_EXE = 1,
	BT_SELECT_ALL = 2,
};

/* A file as the kernel names it: superblock device (kernel encoding, major << 20 | minor) and
 * inode. */
struct bt_file_key {
	__u64 dev;
	__u64 ino;
};

/* Distinct files tracked per run: selected executables, and files examined once for probes. */
#define BT_MAX_FILES 4096

enum bt_file_flags {
	BT_FILE_SELECTED = 1, /* -e: its processes are traced; exe is its index */
	BT_FILE_EXCLUDED = 2, /* --exclude-exe: its processes are never traced */
	BT_FILE_EXAMINED = 4, /* probed where needed, for every process: no event when mapped */
};

/*
 * Why a process is in the excluded map. PID: --exclude-pid, bedtrace and its watchdog, whatever
 * they execute. INHERITED: it runs an --exclude-exe program or was forked by an excluded process;
 * executing another program (not excluded) makes it eligible again.
 */
enum bt_excluded_why {
	BT_EXCLUDED_PID = 1,
	BT_EXCLUDED_INHERITED = 2,
};

struct bt_file_info {
	__u32 flags; /* enum bt_file_flags */
	__u32 exe;
};

/* Processes BPF knows are traced (the procs map): exit, fork and exec are reported for these. */
#define BT_MAX_PROCS 16384

enum bt_proc_flags {
	BT_PROC_FOLLOW = 1, /* children forked by this process are traced too */
	BT_PROC_GO = 2,	    /* Go executable: function probes keyed by goroutine */
	BT_PROC_HOLD = 4,   /* forked child: stop it on its way out of fork until it is probed */
	BT_PROC_SEEN = 8,   /* -a: it moved bytes (userspace was told once); its exit is reported */
	BT_PROC_HELD = 16,  /* stopped by BPF until userspace resumes it: the watchdog resumes it
			     * if bedtrace dies first */
};

/*
 * BT_EV_SELECT: process pid (parent ppid) is to be traced: with -e it executed selected file
 * number exe (0-based, the order of the -e options); with -a it showed traffic for the first time
 * (exe = BT_SELECT_TRAFFIC) or executed a file not examined yet (exe = BT_SELECT_NEW_FILE).
 * status 1: stopped until userspace SIGCONTs it. comm lets userspace name a process that is gone
 * before it could read /proc.
 */
#define BT_SELECT_TRAFFIC 0xffffffffu
#define BT_SELECT_NEW_FILE 0xfffffffeu
struct bt_select_event {
	__u32 type;
	__u32 pid;
	__u64 ts_ns;
	__u32 ppid;
	__u32 status;
	__u32 exe;
	__u32 pad;
	char comm[16];
};

/*
 * -a: the executable a process runs, as BPF read it when the process executed it (map
 * exe_paths, keyed by pid), for a process that ends before userspace can read /proc (its
 * resource). The path's components are stored innermost first, each followed by '/':
 * "curl/bin/usr/" is /usr/bin/curl. len: the bytes of path used (at most BT_EXE_PATH_USED; the
 * buffer is twice that, which lets the verifier bound each component's copy); truncated: the
 * path was longer, or deeper than BT_EXE_PATH_DEPTH, and is not usable.
 */
#define BT_EXE_PATH_USED 256
#define BT_EXE_PATH_DEPTH 32
struct bt_exe_path {
	__u32 len;
	__u32 truncated;
	char path[2 * BT_EXE_PATH_USED];
};

/*
 * BT_EV_EXIT: status is the wait(2) status of the process (exit code << 8, or the terminating
 * signal | 0x80 if it dumped core). BT_EV_FORK: pid is the child, ppid the traced parent.
 * BT_EV_EXEC: pid executed a new program (its threads' open calls were closed, reason EXEC).
 * For FORK and EXEC, status 1 means the process is stopped until userspace SIGCONTs it.
 */
struct bt_proc_event {
	__u32 type;
	__u32 pid;
	__u64 ts_ns;
	__u32 ppid;
	__u32 status;
};

/* Payload bytes per data event; a larger read or write becomes several events. */
#define BT_DATA_CHUNK 16384
/*
 * All-ones mask that keeps a chunk length in [0, BT_DATA_CHUNK] unchanged (the chunk size is a
 * power of two): BPF masks lengths with it so the verifier sees them bounded.
 */
#define BT_DATA_CHUNK_MASK (2 * BT_DATA_CHUNK - 1)
/* Largest single I/O call captured in full (bytes beyond are counted in BT_CNT_DATA_TOO_LONG). */
#define BT_DATA_MAX_CALL (64u << 20)
/* ring_prefault (functrace.bpf.c): record size and records per run, so 1 MiB a run. */
#define BT_PREFAULT_REC 16384
#define BT_PREFAULT_PER_RUN 64

enum bt_data_src {
	BT_SRC_TLS = 1,	   /* plaintext at SSL_read/SSL_write (and _ex) */
	BT_SRC_SOCKET = 2, /* plain TCP socket syscalls */
};

enum bt_data_flags {
	/* call_id names a SERVER frame this request just opened on the thread (plain sockets) */
	BT_DATA_F_SERVER_START = 1,
	/*
	 * No payload (len 0): the @omitted bytes at pos crossed the wire but were not copied,
	 * because userspace marked them as body nobody keeps (struct bt_omit_win)
	 */
	BT_DATA_F_OMITTED = 2,
	/*
	 * The chunk ends a message head at the start of its I/O call, and BPF opened an omission
	 * window of its own right after it (struct bt_auto_arm): the @omitted stream bytes after
	 * pos + len, the rest of the call and of the body, are not copied
	 */
	BT_DATA_F_WINDOW = 4,
};

/*
 * A read or write of at least this many bytes looks up an omission window before it is copied;
 * smaller ones cost less to copy than to look up.
 */
#define BT_OMIT_MIN_IO 2048
/* The smallest body an omission window is asked or opened for. */
#define BT_OMIT_MIN_BODY (32u << 10)

/* Key of the omission windows map: the connection and direction of a data event. */
struct bt_omit_key {
	__u32 pid;
	__u32 dir;
	__u64 conn_id;
};

/*
 * Stream bytes [from, to) of a connection direction need not be copied: userspace parsed the
 * message they belong to and keeps none of its body (an identity body of known length on an
 * exchange no annotator or dump reads). BPF reports them as BT_DATA_F_OMITTED events and
 * deletes the window once the stream has passed it.
 */
struct bt_omit_win {
	__u64 from;
	__u64 to;
};

/*
 * Auto windows: BPF opens an omission window itself, with no round trip through userspace, for
 * the body of a message whose head it read at a stream position it knows to start a message
 * (include/http_head.h), when the request (method and path) is one whose bodies userspace found
 * nobody reads on this connection. Userspace arms a connection (one entry of this, keyed by
 * bt_auto_key) after it asked for a window there itself; BPF then follows the message framing from
 * the positions given and keeps next_head, req_hash and pending up to date. A position userspace
 * writes is always a true message start, so a stale one only never matches. Userspace checks
 * every window BPF opened against its own parse (BT_DATA_F_WINDOW).
 */
#define BT_AUTO_LINES 8
/* next_head: no message start known */
#define BT_POS_NONE (~0ULL)

struct bt_auto_key {
	__u32 pid;
	__u32 pad;
	__u64 conn_id;
};

struct bt_auto_arm {
	__u64 next_head[2]; /* per direction: stream position of the next message head, or none */
	__u32 unwanted[BT_AUTO_LINES]; /* bt_path_hash of requests whose bodies are left out */
	__u32 req_hash;		       /* the request awaiting its response (pending == 1) */
	__u8 pending;		       /* requests read whose response head was not */
	__u8 req_dir;		       /* the direction requests go */
	__u8 req_head;		       /* the request awaiting its response is a HEAD */
	__u8 pad;
};

/*
 * One chunk of a read or write. Chunks of one connection and direction arrive in order; pos is
 * the stream offset of data[0], so a jump in pos is a gap of lost bytes (counted in BPF too).
 */
struct bt_data_event {
	__u32 type; /* BT_EV_DATA */
	__u32 pid;
	__u64 ts_ns;
	__u64 conn_id; /* SSL* for TLS; (generation << 32 | fd) for sockets; unique within pid */
	__u64 pos;
	__u64 call_id;	 /* innermost open traced call on the thread, 0 for none */
	__u64 parent_id; /* the call below call_id on the thread, 0 for none */
	__u64 root_id;	 /* outermost open traced call on the thread */
	__u32 tid;
	__u32 len;	/* bytes in data[] */
	__u32 call_len; /* bytes the whole I/O call moved */
	__u16 dir;	/* 0: sent by the process, 1: received (enum bt_dir in user/http.h) */
	__u16 src;	/* enum bt_data_src */
	__u32 flags;	/* enum bt_data_flags */
	__u32 omitted;	/* BT_DATA_F_OMITTED: stream bytes at pos this event stands for */
	__u8 data[BT_DATA_CHUNK];
};

/* BT_EV_CONN: the socket behind a connection; BT_EV_CLOSE: the connection ended. */
struct bt_conn_event {
	__u32 type;
	__u32 pid;
	__u64 ts_ns;
	__u64 conn_id;
	__u64 send_pos; /* close: bytes the process sent in total (later chunks lost if beyond) */
	__u64 recv_pos; /* close: bytes received in total */
	__u8 saddr[16]; /* IPv4 in the first 4 bytes, or IPv6 */
	__u8 daddr[16];
	__u32 tid;
	__s32 fd;
	__u16 family; /* AF_INET, AF_INET6, 0 unknown */
	__u16 sport;  /* host byte order */
	__u16 dport;
	__u16 src; /* enum bt_data_src */
};

/* BT_EV_MMAP: the target mapped new executable code (a library it loaded late, e.g. libssl). */
struct bt_mmap_event {
	__u32 type;
	__u32 pid;
	__u64 ts_ns;
	__u32 stopped; /* the process was stopped (a libssl): SIGCONT it once probed */
	__u32 pad;
};

enum bt_unwind_kind {
	BT_UNWIND_RAISE = 1, /* exception raised: put the original return addresses back */
	BT_UNWIND_CATCH = 2, /* exception caught: re-arm the uretprobes of surviving frames */
};

/*
 * The BPF side cannot write user memory (kernel lockdown), so it stops the process and asks
 * userspace to store values[i] at slots[i] wherever the slot still holds expect[i].
 */
struct bt_unwind_event {
	__u32 type; /* BT_EV_UNWIND */
	__u32 pid;
	__u64 slots[BT_MAX_RESTORE];
	__u64 values[BT_MAX_RESTORE];
	__u64 expect[BT_MAX_RESTORE];
	__u32 tid;
	__u32 n;
	__u32 kind;
	__u32 pad;
};

/* Why a traced call ended. */
enum bt_end_reason {
	BT_END_RETURN = 0,
	BT_END_EXCEPTION = 1,	 /* unwound by a C++ exception (or _Unwind_ForcedUnwind) */
	BT_END_LONGJMP = 2,	 /* left by longjmp/siglongjmp */
	BT_END_UNWOUND = 3,	 /* left without returning, cause not seen */
	BT_END_THREAD_EXIT = 4,	 /* thread exited while the call was open */
	BT_END_PROCESS_EXIT = 5, /* process exited (exit_group, fatal signal) while open */
	BT_END_OPEN = 6,	 /* userspace only: still running when tracing stopped */
	BT_END_EXEC = 7,	 /* the process executed a new program while the call was open */
};

/* Every event starts with its type (enum bt_event_type) and the process it concerns. */
struct bt_call_event {
	__u32 type; /* BT_EV_CALL */
	__u32 pid;
	__u64 entry_ns; /* CLOCK_MONOTONIC */
	__u64 exit_ns;
	__u64 retval;	 /* raw return register, meaningful only for BT_END_RETURN */
	__u64 call_id;	 /* unique per call: tid << 32 | per-thread sequence */
	__u64 parent_id; /* call_id of the innermost enclosing traced call, 0 for none */
	__u64 root_id;	 /* call_id of the outermost enclosing traced call (itself if outermost) */
	__u32 tid;
	__u32 probe_id;
	__u16 depth;  /* 0 for an outermost call */
	__u16 reason; /* enum bt_end_reason */
	__u32 pad;
};

/* A frame of the per-thread stack kept by BPF. */
struct bt_frame {
	__u64 call_id;
	__u64 entry_ns;
	__u64 sp; /* stack pointer at entry: where the return address lives (Go: stack.hi - sp) */
	/*
	 * The caller's return address the uretprobe replaced in that slot: 0 in BPF's stacks;
	 * filled in from the kernel's return instances in the records userspace reads
	 * (struct bt_stack_rec), 0 when the kernel has none for the slot.
	 */
	__u64 ret;
	__u32 probe_id;
	__u32 pad;
};

struct bt_stack {
	struct bt_frame frames[BT_MAX_DEPTH];
	__u64 restore_sp[BT_MAX_RESTORE];  /* return-address slots restored while unwinding */
	__u64 restore_ret[BT_MAX_RESTORE]; /* the original return addresses put back there */
	__u64 tramp;			   /* uretprobe trampoline address seen in those slots */
	__u64 pending_ns;		   /* when that unwind started (0: unknown) */
	__u32 depth;
	__u32 seq;
	__u32 n_restore;
	__u32 pending; /* enum bt_end_reason of an unwind in progress (longjmp/exception) */
	__u32 pid;     /* thread group of the thread owning this stack */
	__u32 tid;     /* goroutine stacks: the thread that last entered a traced call */
};

/*
 * A thread's stack as userspace reads it: the functrace program dump_stacks (iter/task) writes
 * one record per thread with open traced calls (the stacks are task-local storage, which
 * userspace cannot list).
 */
struct bt_stack_rec {
	__u32 pid; /* thread group */
	__u32 tid;
	struct bt_stack st;
};

/* Counters of everything that was dropped or went wrong in BPF; userspace reports them. */
enum bt_counter {
	BT_CNT_CALL_RB_FULL,	/* call events lost: ring buffer full */
	BT_CNT_DEPTH_OVERFLOW,	/* calls deeper than BT_MAX_DEPTH, not traced */
	BT_CNT_STACK_FULL,	/* threads whose stack could not be made, calls not traced */
	BT_CNT_RET_NO_STACK,	/* returns on a thread with no open traced call (entered earlier) */
	BT_CNT_RET_MISMATCH,	/* returns whose frame is not the innermost open one */
	BT_CNT_UNWIND_FIXUP,	/* return addresses restored for exception unwinding */
	BT_CNT_UNWIND_FAIL,	/* return-address restore/re-arm failures */
	BT_CNT_DATA_RB_FULL,	/* data chunks lost: ring buffer full */
	BT_CNT_DATA_READ_FAIL,	/* data chunks lost: user memory unreadable */
	BT_CNT_DATA_LOST_BYTES, /* bytes in the lost chunks */
	BT_CNT_DATA_TOO_LONG,	/* bytes past the per-call capture limit */
	BT_CNT_CONN_FULL,	/* connection-tracking map full */
	BT_CNT_OTHER_RB_FULL,	/* close/mmap events lost */
	BT_CNT_IO_UNTRACKED,	/* SSL or socket calls not captured: no per-thread state */
	BT_CNT_GO_NO_G,		/* Go probe hits with no readable goroutine (not traced) */
	BT_CNT_PROC_FULL,	/* forked children not followed: process table full */
	BT_CNT_MAX,
};

/*
 * What both sides rely on. Every event starts with its type and process; sizes are checked so a
 * field added on one side only cannot shift the other's reading.
 */
#define BT_IS_POW2(x) ((x) > 0 && ((x) & ((x)-1)) == 0)
_Static_assert(BT_IS_POW2(BT_MAX_DEPTH), "frame indexes are masked with BT_MAX_DEPTH - 1");
_Static_assert(BT_IS_POW2(BT_DATA_CHUNK), "chunk lengths are masked with BT_DATA_CHUNK_MASK");
_Static_assert(BT_DATA_CHUNK_MASK >= BT_DATA_CHUNK && BT_DATA_CHUNK_MASK < 2 * BT_DATA_CHUNK &&
		   BT_IS_POW2(BT_DATA_CHUNK_MASK + 1),
	       "BT_DATA_CHUNK_MASK: the smallest all-ones mask keeping BT_DATA_CHUNK");
_Static_assert(BT_DATA_MAX_CALL % BT_DATA_CHUNK == 0, "a full call is a whole number of chunks");

#define BT_EVENT_HEAD(t)                                                                           \
	_Static_assert(__builtin_offsetof(struct t, type) == 0 &&                                  \
			   __builtin_offsetof(struct t, pid) == 4,                                 \
		       #t ": type and pid lead every event")
BT_EVENT_HEAD(bt_proc_event);
BT_EVENT_HEAD(bt_select_event);
BT_EVENT_HEAD(bt_data_event);
BT_EVENT_HEAD(bt_conn_event);
BT_EVENT_HEAD(bt_mmap_event);
BT_EVENT_HEAD(bt_unwind_event);
BT_EVENT_HEAD(bt_call_event);
#undef BT_EVENT_HEAD

_Static_assert(sizeof(struct bt_proc_event) == 24, "bt_proc_event layout is ABI");
_Static_assert(sizeof(struct bt_select_event) == 48, "bt_select_event layout is ABI");
_Static_assert(sizeof(struct bt_file_key) == 16, "bt_file_key layout is ABI");
_Static_assert(sizeof(struct bt_exe_path) == 8 + 2 * BT_EXE_PATH_USED, "bt_exe_path layout is ABI");
_Static_assert(sizeof(struct bt_file_info) == 8, "bt_file_info layout is ABI");
_Static_assert(sizeof(struct bt_data_event) == 80 + BT_DATA_CHUNK, "bt_data_event layout is ABI");
/* a chunk is sent as its header plus len bytes of data */
_Static_assert(__builtin_offsetof(struct bt_data_event, data) == 80, "bt_data_event header");
_Static_assert(sizeof(struct bt_conn_event) == 88, "bt_conn_event layout is ABI");
_Static_assert(sizeof(struct bt_auto_arm) == 56, "bt_auto_arm layout is ABI");
_Static_assert(sizeof(struct bt_mmap_event) == 24, "bt_mmap_event layout is ABI");
_Static_assert(sizeof(struct bt_unwind_event) == 24 + 24 * BT_MAX_RESTORE,
	       "bt_unwind_event layout is ABI");
_Static_assert(sizeof(struct bt_call_event) == 72, "bt_call_event layout is ABI");
_Static_assert(sizeof(struct bt_frame) == 40, "bt_frame layout is ABI");
/* userspace reads stacks as records of dump_stacks (watchdog, open calls at exit) */
_Static_assert(sizeof(struct bt_stack) == 40 * BT_MAX_DEPTH + 16 * BT_MAX_RESTORE + 40,
	       "bt_stack layout is ABI");
_Static_assert(sizeof(struct bt_stack_rec) == 8 + sizeof(struct bt_stack),
	       "bt_stack_rec layout is ABI");

#endif
