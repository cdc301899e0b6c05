/*
 * Intrusive circular doubly linked list. Embed a struct list in the
 * element; the head is a struct list of its own.
 */
#ifndef KLAXON_LIST_H
#define KLAXON_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list
{
    struct list *prev;
    struct list *next;
};

#define list_entry(ptr, type, member) \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void list_init(struct list *l)
{
    l->prev = l;
    l->next = l;
}

static inline bool list_empty(const struct list *l)
{
    return l->next == l;
}

/* Append n at the tail of head. */
static inline void list_push(struct list *head, struct list *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

/* Unlink n; n is left pointing to itself. */
static inline void list_remove(struct list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    list_init(n);
}

/* Move every element of from to the tail of to. */
static inline void list_splice(struct list *to, struct list *from)
{
    if (list_empty(from)) {
        return;
    }
    from->next->prev = to->prev;
    to->prev->next = from->next;
    from->prev->next = to;
    to->prev = from->prev;
    list_init(from);
}

static inline size_t list_length(const struct list *l)
{
    size_t n = 0;
    for (const struct list *i = l->next; i != l; i = i->next) {
        n++;
    }
    return n;
}

#endif /* KLAXON_LIST_H */
