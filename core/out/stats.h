/* stats.h - reading the per-type statistics: coalesce every thread's slot
 * (tcache.c) and print the vmstat -m style table. Readers take no lock that
 * an allocating thread takes, except the registry lock for the list of
 * slots; figures are a racy snapshot, differences clamped at zero. */
#ifndef MT_STATS_H
#define MT_STATS_H

/* Prints the lines most-memory-in-use types on the report sink. Uses
 * mmap'd scratch memory and dladdr, never malloc. */
void mt_stats_print_types(long lines);

#endif
