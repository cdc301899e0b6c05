/*
 * Fault injection points, for tests only.
 *
 * A build with -DFIU_ENABLE (the test binary klaxond-faults, linked with
 * libfiu) checks named libfiu failure points; run it under `fiu-run -x
 * -f FIFO` and switch points on and off with `fiu-ctrl`. In every other
 * build the points compile to nothing. Points:
 *
 *   klaxon/raft/append    a Raft log append reports RAFT_IOERR (the write
 *                         may or may not have reached the disk, as after a
 *                         failed fsync)
 *   klaxon/store/commit   the LMDB commit of an applied entry fails (EIO)
 *
 * With `fiu-run -x`, libfiu's POSIX points (posix/io/rw/pwrite, ...) fail
 * the C library calls of LMDB and libraft as well.
 */
#ifndef KLAXON_FAULTS_H
#define KLAXON_FAULTS_H

#include <raft.h>

#ifdef FIU_ENABLE
#include <fiu.h>
#define fault_point(name) (fiu_fail(name) != 0)
#else
#define fault_point(name) 0
#endif

/* Route io's appends through the klaxon/raft/append point (no-op in
 * builds without FIU_ENABLE). 0, or RAFT_NOMEM. */
int faults_wrap_io(struct raft_io *io);

#endif /* KLAXON_FAULTS_H */
