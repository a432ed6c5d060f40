/* What both extensions of the compiled core do alike (see _linecore.c and _stepcore.c). */
#ifndef FLASKSCOPE_CORE_COMMON_H
#define FLASKSCOPE_CORE_COMMON_H

#include <Python.h>
#include <structmember.h>
#include <time.h>

/* The capsule `tracer._linecore.TRACE_FUNCTION`: a pointer to the line tracer's C trace
 * function (a `Py_tracefunc`), by which the step core knows the tracer is ours. */
#define TRACE_FUNCTION_CAPSULE "tracer._linecore.TRACE_FUNCTION"

/* A time stamp from the clock `time.perf_counter_ns` reads (CLOCK_MONOTONIC), in ns. */
static inline long long
now_ns_value(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/* The same as an int object (a new reference). */
static PyObject *
now_ns(void)
{
    return PyLong_FromLongLong(now_ns_value());
}

/* A step row holding only integers, strings and None can be in no reference cycle, so it
 * is taken out of the collector's sight at once: it would otherwise be scanned by the next
 * young collection, which only then finds that out. Returns `row` (NULL stays NULL). */
static PyObject *
untracked_row(PyObject *row)
{
    if (row == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(row); i++) {
        PyObject *item = PyTuple_GET_ITEM(row, i);
        if (item != Py_None && !PyLong_CheckExact(item) && !PyUnicode_CheckExact(item))
            return row;
    }
    PyObject_GC_UnTrack(row);
    return row;
}

/* `recorder._close(step_id)`: the step (and anything left open inside it) off the step
 * stack in `stack_var` (the context's open call steps): the last entry first, the common
 * case, then the first equal one from the start, as `stack.index` finds it. */
static int
close_step_on(PyObject *stack_var, PyObject *step_id)
{
    PyObject *stack;
    if (PyContextVar_Get(stack_var, NULL, &stack) < 0)
        return -1;
    if (stack == NULL || !PyTuple_Check(stack)) {
        Py_XDECREF(stack);
        return 0;
    }
    Py_ssize_t size = PyTuple_GET_SIZE(stack), keep = -1;
    for (Py_ssize_t i = -1; i < size - 1 && keep < 0; i++) {
        Py_ssize_t at = i < 0 ? size - 1 : i;
        int same = PyObject_RichCompareBool(PyTuple_GET_ITEM(stack, at), step_id, Py_EQ);
        if (same < 0) {
            Py_DECREF(stack);
            return -1;
        }
        if (same)
            keep = at;
    }
    int result = 0;
    if (keep >= 0) {
        PyObject *rest = PyTuple_GetSlice(stack, 0, keep);
        PyObject *token = rest ? PyContextVar_Set(stack_var, rest) : NULL;
        result = token == NULL ? -1 : 0;
        Py_XDECREF(token);
        Py_XDECREF(rest);
    }
    Py_DECREF(stack);
    return result;
}

/* Reading an attribute that a `__slots__` class stores (a `_CodeInfo`'s flags, a
 * `StepRecord`'s dicts) straight from the object, as its member descriptor does, without
 * the attribute lookup: the core reads several at every call event, and each lookup costs
 * hundreds of instructions. A `SlotCache` per call site remembers where the slot lies in
 * the first type it read it from, if that type has the plain `__getattribute__`. Each read
 * checks the type's version tag, which CPython sets to 0 (never a valid tag) whenever the
 * class changes, so a changed class, a subclass or any other type takes `PyObject_GetAttr`
 * as before. */
typedef struct {
    PyTypeObject *type;  /* strong: its address is never another type's */
    unsigned int version;
    Py_ssize_t offset;
} SlotCache;

static void
learn_slot(PyTypeObject *type, PyObject *name, SlotCache *cache)
{
    if (cache->type != NULL || type->tp_getattro != PyObject_GenericGetAttr ||
        type->tp_version_tag == 0)
        return;
    PyObject *descriptor = _PyType_Lookup(type, name);  /* borrowed */
    if (descriptor == NULL || !Py_IS_TYPE(descriptor, &PyMemberDescr_Type))
        return;
    PyMemberDef *member = ((PyMemberDescrObject *)descriptor)->d_member;
    if (member->type != T_OBJECT_EX || member->offset <= 0)
        return;
    cache->type = (PyTypeObject *)Py_NewRef(type);
    cache->version = type->tp_version_tag;
    cache->offset = member->offset;
}

/* `getattr(obj, name)`, a new reference (NULL with an error set, as PyObject_GetAttr). */
static inline PyObject *
slot_get(PyObject *obj, PyObject *name, SlotCache *cache)
{
    PyTypeObject *type = Py_TYPE(obj);
    if (type == cache->type && type->tp_version_tag == cache->version) {
        PyObject *value = *(PyObject **)((char *)obj + cache->offset);
        if (value != NULL)
            return Py_NewRef(value);
    }
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value != NULL)
        learn_slot(type, name, cache);
    return value;
}

#endif
