/*
 * Disaster recovery, run by klaxond before (instead of) starting a node:
 *
 * - recovery_restore (--restore FILE): seed an EMPTY data_dir from a
 *   backup file (common/backup_file.h). The state goes into LMDB (every
 *   record validated) and Raft gets a snapshot at the backup's applied
 *   index, term 1, holding the members of this node's configuration, and
 *   no log. The first start loads that snapshot (the state, already at its
 *   index, is kept), the log goes on at index + 1 and no entry is applied
 *   twice. Every node of the new cluster is restored from the same file:
 *   they start identical. Everything is built in DATA_DIR/.restore and
 *   moved in place at the end (raft first: a node with the Raft snapshot
 *   and no state rebuilds the state from it); on any failure that
 *   directory is removed, and data_dir too if this created it.
 *
 * - recovery_force_new_cluster (--force-new-cluster): libraft's
 *   raft_recover() on an existing data_dir: appends a configuration entry
 *   holding the members of this node's configuration (for example only
 *   itself) to the Raft log. Committed data is kept.
 *
 * Both return 0, or -1 with a message, and leave the node to be started
 * normally afterwards.
 */
#ifndef KLAXON_RECOVERY_H
#define KLAXON_RECOVERY_H

#include <stddef.h>

#include "config.h"

int recovery_restore(const struct config *cfg,
                     const char *file,
                     char *err,
                     size_t errlen);

int recovery_force_new_cluster(const struct config *cfg,
                               char *err,
                               size_t errlen);

#endif /* KLAXON_RECOVERY_H */
