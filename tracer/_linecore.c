/* The per-line work of line tracing, compiled: what `tracer.lines` does at every line
 * event, with the same data the pure-Python engine keeps, so both record the same trace.
 *
 * `FrameState` holds what the engine remembers about one traced frame (the fields of
 * `lines._FrameState`); `line(frame, state, line)` settles the locals the previous line
 * changed and adds the line step; `settle(frame, state)` does the first half alone (a
 * frame's exit); `LineEvents(frames, failed)` is the `sys.monitoring` LINE callback of
 * Python 3.12+ (the frame is the one running the event's code, found without a Python
 * frame of our own); `Tracer(...)` is the C-level trace function of Python 3.11. Steps go
 * into the `StepRecord` dicts as `StepRecord.add_line` puts them, time stamps from the
 * clock `time.perf_counter_ns` reads (CLOCK_MONOTONIC).
 *
 * Locals are read through `frame.f_locals`, as the pure engine reads them, except a
 * function's frame on 3.12+, read one variable at a time (`PyFrame_GetVar`) instead of
 * copying them all: the values (hidden comprehension variables, cells) are the same.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <frameobject.h>
#include <string.h>
#include <time.h>

#include "_corecommon.h"
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
#include <opcode.h>
#endif

#define FINGERPRINT_LIMIT 64
/* What `tracer/engine.py` expects of the core; a core built from older sources has another
 * number and is not used (an editable install keeps the .so it built until reinstalled). */
#define INTERFACE 4

static PyObject *DELETED;      /* tracer.values.DELETED */
static PyObject *STEP_STACK;   /* tracer.recorder._stack, the context's open call steps */
static PyObject *NO_NAMES;     /* {} */
static PyObject *STR_F_LOCALS, *STR_TRACED, *STR_TOUCHED, *STR_STEPS, *STR_IDS,
    *STR_MAX_STEPS, *STR_RAW, *STR_DROP, *STR_RESULT, *STR_CALL, *STR_LOGGED;

/* -- values ---------------------------------------------------------------------------- */

static int
is_mutable(PyObject *value)
{
    PyTypeObject *kind = Py_TYPE(value);
    return kind == &PyList_Type || kind == &PyDict_Type || kind == &PySet_Type ||
           kind == &PyByteArray_Type;
}

/* While recording, the containers only a record holds (each step's raw detail and the
 * copies `kept` makes) are kept out of the garbage collector's sight: every full
 * collection walked them all, and with them every value of every request recorded so far
 * (two thirds of line mode's time in a long recording). They may hold app values that lead
 * back to flaskscope (a view wrapped by a hook refers to the recorder), and a cycle through
 * an untracked container is never collected, so a record gives them back (`track_kept`)
 * when it leaves the recorder or the recording ends (`StepRecord.track_kept`,
 * `tests/tracer/test_safety.py`: an app is not kept alive after its requests). */
static void
out_of_sight(PyObject *container)
{
    if (PyObject_GC_IsTracked(container))
        PyObject_GC_UnTrack(container);
}

/* `values.kept`: containers copied (a bytearray as bytes), anything else as it is; the
 * copies out of the collector's sight (see `out_of_sight`). */
static PyObject *
kept(PyObject *value)
{
    PyTypeObject *kind = Py_TYPE(value);
    PyObject *copy = NULL;
    if (kind == &PyList_Type)
        copy = PyList_GetSlice(value, 0, PyList_GET_SIZE(value));
    else if (kind == &PyDict_Type)
        copy = PyDict_Copy(value);
    else if (kind == &PySet_Type)
        copy = PySet_New(value);
    else if (kind == &PyByteArray_Type)
        return PyBytes_FromStringAndSize(PyByteArray_AS_STRING(value),
                                         PyByteArray_GET_SIZE(value));
    else
        return Py_NewRef(value);
    if (copy != NULL)
        out_of_sight(copy);
    return copy;
}

/* Something that changes when a small list, dict or set is changed in place: (len, the
 * ids of its items as bytes), or len alone past the limit; None for other types. Compared
 * only with fingerprints made here (an engine uses its own throughout). */
static PyObject *
fingerprint(PyObject *value)
{
    PyTypeObject *kind = Py_TYPE(value);
    Py_ssize_t size, count = 0;
    if (kind == &PyByteArray_Type) {
        size = PyByteArray_GET_SIZE(value);
        return PyBytes_FromStringAndSize(PyByteArray_AS_STRING(value),
                                         size < FINGERPRINT_LIMIT ? size : FINGERPRINT_LIMIT);
    }
    if (kind != &PyList_Type && kind != &PySet_Type && kind != &PyFrozenSet_Type &&
        kind != &PyDict_Type)
        Py_RETURN_NONE;
    size = PyObject_Size(value);
    if (size < 0)
        return NULL;
    if (size > FINGERPRINT_LIMIT)
        return PyLong_FromSsize_t(size);
    void *ids[2 * FINGERPRINT_LIMIT];
    if (kind == &PyList_Type) {
        for (Py_ssize_t i = 0; i < size; i++)
            ids[count++] = PyList_GET_ITEM(value, i);
    }
    else if (kind == &PyDict_Type) {
        Py_ssize_t position = 0;
        PyObject *key, *item;
        while (PyDict_Next(value, &position, &key, &item) && count < 2 * FINGERPRINT_LIMIT) {
            ids[count++] = key;
            ids[count++] = item;
        }
    }
    else {  /* a set: its iteration order, as `tuple(map(id, value))` has it */
        PyObject *items = PyObject_GetIter(value), *item;
        if (items == NULL)
            return NULL;
        while (count < FINGERPRINT_LIMIT && (item = PyIter_Next(items)) != NULL) {
            ids[count++] = item;  /* the set keeps the item alive */
            Py_DECREF(item);
        }
        Py_DECREF(items);
        if (PyErr_Occurred())
            return NULL;
    }
    PyObject *bytes = PyBytes_FromStringAndSize((const char *)ids, count * sizeof(void *));
    if (bytes == NULL)
        return NULL;
    PyObject *result = Py_BuildValue("(nN)", size, bytes);
    return result;
}

static PyObject *
kept_function(PyObject *module, PyObject *value)
{
    return kept(value);
}

/* `lines._returned`: the raw detail of a frame's return step, `{"result": kept value}`. */
static PyObject *
returned_function(PyObject *module, PyObject *value)
{
    PyObject *result = kept(value);
    if (result == NULL)
        return NULL;
    PyObject *detail = PyDict_New();
    if (detail == NULL || PyDict_SetItem(detail, STR_RESULT, result) < 0) {
        Py_DECREF(result);
        Py_XDECREF(detail);
        return NULL;
    }
    Py_DECREF(result);
    return detail;
}


static PyObject *
fingerprint_function(PyObject *module, PyObject *value)
{
    return fingerprint(value);
}


/* -- StepLog: a record's line and return steps, in machine integers --------------------
 *
 * Line steps are the most frequent steps by far (about 680 in one request of the seed app,
 * against 160 calls and as many returns). As rows in the record's `steps` dict each cost
 * a tuple, a time integer (a return also a thread integer), a dict insertion, and their
 * deallocation later. The line core appends (id, parent, line, time) of a line, and (id,
 * call, line, time, thread) of a frame's return, to the record's `StepLog` instead;
 * `StepRecord.rows()` reads them back (`since`) when the trace is built, a return's name,
 * file and role taken from its call's row. The core appends right after taking the id from
 * the record's counter, with the GIL held and no Python code run between, so ids rise
 * along the log; a log whose ids ever fail to rise (entries added by hand) is searched
 * from end to end. */

enum { LOGGED_LINE = 0, LOGGED_RETURN = 1 };

typedef struct {
    long long id, parent, line, time;
    unsigned long long thread;  /* a return's; 0 for a line (its call's thread is its own) */
    int kind;
} LoggedStep;

typedef struct {
    PyObject_HEAD
    LoggedStep *entries;
    Py_ssize_t size, capacity;
    char rising;  /* every id greater than the one before */
} StepLog;

static PyTypeObject StepLogType;

static int
step_log_add(StepLog *log, LoggedStep step)
{
    if (log->size == log->capacity) {
        Py_ssize_t capacity = log->capacity ? log->capacity * 2 : 64;
        if (capacity > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(LoggedStep)) {
            PyErr_NoMemory();
            return -1;
        }
        LoggedStep *grown = PyMem_Realloc(log->entries, capacity * sizeof(LoggedStep));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        log->entries = grown;
        log->capacity = capacity;
    }
    if (log->size > 0 && log->entries[log->size - 1].id >= step.id)
        log->rising = 0;
    log->entries[log->size++] = step;
    return 0;
}

/* The position of the first entry whose id is `start` or more (rising logs), else 0. */
static Py_ssize_t
step_log_first(StepLog *log, long long start)
{
    if (!log->rising)
        return 0;
    Py_ssize_t low = 0, high = log->size;
    while (low < high) {
        Py_ssize_t middle = low + (high - low) / 2;
        if (log->entries[middle].id < start)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

static PyObject *
StepLog_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0)) {
        PyErr_SetString(PyExc_TypeError, "StepLog() takes no arguments");
        return NULL;
    }
    StepLog *self = (StepLog *)type->tp_alloc(type, 0);
    if (self != NULL)
        self->rising = 1;
    return (PyObject *)self;
}

static void
StepLog_dealloc(StepLog *self)
{
    PyMem_Free(self->entries);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t
StepLog_length(StepLog *self)
{
    return self->size;
}

static int
StepLog_contains(StepLog *self, PyObject *key)
{
    if (!PyLong_Check(key))
        return 0;
    int overflow;
    long long id = PyLong_AsLongLongAndOverflow(key, &overflow);
    if (id == -1 && PyErr_Occurred())
        return -1;
    if (overflow)
        return 0;
    for (Py_ssize_t at = step_log_first(self, id); at < self->size; at++) {
        if (self->entries[at].id == id)
            return 1;
        if (self->rising)
            return 0;
    }
    return 0;
}

static PyObject *STR_RETURN;

/* The row the record's `steps` dict would hold for a logged step: (parent, line, time)
 * for a line; for a return, its call's name, file and role, as `StepRecord.add` stores
 * them. */
static PyObject *
logged_row(LoggedStep entry, PyObject *steps)
{
    if (entry.kind == LOGGED_LINE)
        return untracked_row(Py_BuildValue("(LLL)", entry.parent, entry.line, entry.time));
    PyObject *parent = PyLong_FromLongLong(entry.parent);
    PyObject *call = parent ? PyDict_GetItemWithError(steps, parent) : NULL;  /* borrowed */
    Py_XDECREF(parent);
    if (call == NULL || !PyTuple_Check(call) || PyTuple_GET_SIZE(call) < 9) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_KeyError, "no call step %lld for a logged return",
                         entry.parent);
        return NULL;
    }
    return untracked_row(Py_BuildValue("(LLOOOLLKO)", entry.id, entry.parent, STR_RETURN,
                                       PyTuple_GET_ITEM(call, 3), PyTuple_GET_ITEM(call, 4),
                                       entry.line, entry.time, entry.thread,
                                       PyTuple_GET_ITEM(call, 8)));
}

/* since(start, steps): {id: row} of the logged steps whose id is `start` or more, each the
 * row the record's `steps` dict would have held (a return reads its call's row there). */
static PyObject *
StepLog_since(StepLog *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "since(start, steps)");
        return NULL;
    }
    long long start = PyLong_AsLongLong(args[0]);
    if (start == -1 && PyErr_Occurred())
        return NULL;
    PyObject *found = PyDict_New();
    if (found == NULL)
        return NULL;
    /* Entries are read by index on each turn: an allocation below may run a collection,
     * which may let another thread append (and move the array). */
    Py_ssize_t end = self->size;
    for (Py_ssize_t at = step_log_first(self, start); at < end; at++) {
        LoggedStep entry = self->entries[at];
        if (entry.id < start)
            continue;
        PyObject *key = PyLong_FromLongLong(entry.id);
        PyObject *row = key ? logged_row(entry, args[1]) : NULL;
        int failed = row == NULL || PyDict_SetItem(found, key, row) < 0;
        Py_XDECREF(key);
        Py_XDECREF(row);
        if (failed) {
            Py_DECREF(found);
            return NULL;
        }
    }
    return found;
}

/* add(id, parent, line, time[, thread]): what the line core appends (a line; with a
 * thread, a return), for tests and tools. */
static PyObject *
StepLog_add(StepLog *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 && nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "add(id, parent, line, time[, thread])");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        if (!PyLong_Check(args[i])) {
            PyErr_SetString(PyExc_TypeError,
                            "add(id, parent, line, time[, thread]) takes integers");
            return NULL;
        }
    }
    long long values[4];
    for (int i = 0; i < 4; i++) {
        values[i] = PyLong_AsLongLong(args[i]);
        if (values[i] == -1 && PyErr_Occurred())
            return NULL;
    }
    unsigned long long thread = 0;
    if (nargs == 5) {
        thread = PyLong_AsUnsignedLongLong(args[4]);
        if (thread == (unsigned long long)-1 && PyErr_Occurred())
            return NULL;
    }
    LoggedStep step = {values[0], values[1], values[2], values[3], thread,
                       nargs == 5 ? LOGGED_RETURN : LOGGED_LINE};
    if (step_log_add(self, step) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef StepLog_methods[] = {
    {"since", (PyCFunction)(void (*)(void))StepLog_since, METH_FASTCALL,
     "since(start, steps): {id: row} of the logged steps from id `start` on."},
    {"add", (PyCFunction)(void (*)(void))StepLog_add, METH_FASTCALL,
     "add(id, parent, line, time[, thread]): append a line step (with a thread: a return)."},
    {NULL}
};

static PySequenceMethods StepLog_as_sequence = {
    .sq_length = (lenfunc)StepLog_length,
    .sq_contains = (objobjproc)StepLog_contains,
};

static PyTypeObject StepLogType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._linecore.StepLog",
    .tp_doc = "StepLog(): a record's line and return steps, as machine integers.",
    .tp_basicsize = sizeof(StepLog),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = StepLog_new,
    .tp_dealloc = (destructor)StepLog_dealloc,
    .tp_as_sequence = &StepLog_as_sequence,
    .tp_methods = StepLog_methods,
};

/* -- FrameState ------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *record;      /* the StepRecord the frame runs in */
    PyObject *step_id;     /* int or None */
    char owned;
    char traced;
    PyObject *touched;     /* line -> (names it may rebind, plain locals it only reads) */
    PyObject *seen;        /* name -> (value, fingerprint) */
    char containers;
    PyObject *last_line;   /* int or None */
    PyObject *last_step;   /* int or None */
    PyObject *pending;     /* 3.11: the exception being raised, or None */
    PyObject *after_line;  /* (line, callback, code) or None */
    /* The record's own containers, read once. */
    PyObject *steps;
    PyObject *ids;
    PyObject *raw;
    StepLog *log;          /* the record's step log, NULL when it has none (rows then) */
    Py_ssize_t max_steps;
} FrameState;

static int
FrameState_traverse(FrameState *self, visitproc visit, void *arg)
{
    Py_VISIT(self->record);
    Py_VISIT(self->step_id);
    Py_VISIT(self->touched);
    Py_VISIT(self->seen);
    Py_VISIT(self->last_line);
    Py_VISIT(self->last_step);
    Py_VISIT(self->pending);
    Py_VISIT(self->after_line);
    Py_VISIT(self->steps);
    Py_VISIT(self->ids);
    Py_VISIT(self->raw);
    return 0;
}

static int
FrameState_clear(FrameState *self)
{
    Py_CLEAR(self->record);
    Py_CLEAR(self->step_id);
    Py_CLEAR(self->touched);
    Py_CLEAR(self->seen);
    Py_CLEAR(self->last_line);
    Py_CLEAR(self->last_step);
    Py_CLEAR(self->pending);
    Py_CLEAR(self->after_line);
    Py_CLEAR(self->steps);
    Py_CLEAR(self->ids);
    Py_CLEAR(self->raw);
    Py_CLEAR(self->log);
    return 0;
}

static void
FrameState_dealloc(FrameState *self)
{
    PyObject_GC_UnTrack(self);
    FrameState_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* What the core takes from the recorder's modules, fetched when first needed (a frame
 * state or a call handler made): importing the core stays cheap, for `flaskscope
 * --version`, which reads its INTERFACE. 0, or -1 with an error set. */
static int
recorder_parts(void)
{
    if (DELETED != NULL && STEP_STACK != NULL)
        return 0;
    PyObject *values = PyImport_ImportModule("tracer.values");
    PyObject *deleted = values ? PyObject_GetAttrString(values, "DELETED") : NULL;
    Py_XDECREF(values);
    PyObject *recorder = deleted ? PyImport_ImportModule("tracer.recorder") : NULL;
    PyObject *stack = recorder ? PyObject_GetAttrString(recorder, "_stack") : NULL;
    Py_XDECREF(recorder);
    if (stack == NULL || !PyContextVar_CheckExact(stack)) {
        if (stack != NULL)
            PyErr_SetString(PyExc_TypeError, "tracer.recorder._stack is not a ContextVar");
        Py_XDECREF(deleted);
        Py_XDECREF(stack);
        return -1;
    }
    Py_XSETREF(DELETED, deleted);
    Py_XSETREF(STEP_STACK, stack);
    return 0;
}

/* Fill a FrameState for `record`, `step_id`, `owned`, `info` (`lines._FrameState`). */
static int
frame_state_fill(FrameState *self, PyObject *record, PyObject *step_id, int owned,
                 PyObject *info)
{
    if (recorder_parts() < 0)
        return -1;
    static SlotCache traced_slot, touched_slot, steps_slot, ids_slot, raw_slot, max_slot,
        logged_slot;
    PyObject *traced = slot_get(info, STR_TRACED, &traced_slot);
    if (traced == NULL)
        return -1;
    int is_traced = PyObject_IsTrue(traced);
    Py_DECREF(traced);
    if (is_traced < 0)
        return -1;
    PyObject *touched = slot_get(info, STR_TOUCHED, &touched_slot);
    if (touched == NULL)
        return -1;
    if (!is_traced || touched == Py_None)
        Py_SETREF(touched, Py_NewRef(NO_NAMES));
    PyObject *steps = slot_get(record, STR_STEPS, &steps_slot);
    PyObject *ids = steps ? slot_get(record, STR_IDS, &ids_slot) : NULL;
    PyObject *raw = ids ? slot_get(record, STR_RAW, &raw_slot) : NULL;
    PyObject *max_steps = raw ? slot_get(record, STR_MAX_STEPS, &max_slot) : NULL;
    Py_ssize_t max = max_steps ? PyLong_AsSsize_t(max_steps) : -1;
    Py_XDECREF(max_steps);
    if (max_steps == NULL || (max == -1 && PyErr_Occurred()) || !PyDict_Check(steps) ||
        !PyDict_Check(raw)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "FrameState needs a StepRecord");
        Py_DECREF(touched);
        Py_XDECREF(steps);
        Py_XDECREF(ids);
        Py_XDECREF(raw);
        return -1;
    }
    PyObject *log = slot_get(record, STR_LOGGED, &logged_slot);
    if (log == NULL) {  /* a record without a log keeps its line and return steps as rows */
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
            Py_DECREF(touched);
            Py_DECREF(steps);
            Py_DECREF(ids);
            Py_DECREF(raw);
            return -1;
        }
        PyErr_Clear();
    }
    else if (!Py_IS_TYPE(log, &StepLogType))
        Py_CLEAR(log);
    FrameState_clear(self);
    self->log = (StepLog *)log;
    self->record = Py_NewRef(record);
    self->step_id = Py_NewRef(step_id);
    self->owned = (char)owned;
    self->traced = (char)is_traced;
    self->touched = touched;
    self->seen = PyDict_New();
    self->containers = 0;
    self->last_line = Py_NewRef(Py_None);
    self->last_step = Py_NewRef(Py_None);
    self->pending = Py_NewRef(Py_None);
    self->after_line = Py_NewRef(Py_None);
    self->steps = steps;
    self->ids = ids;
    self->raw = raw;
    self->max_steps = max;
    return self->seen == NULL ? -1 : 0;
}

/* FrameState(record, step_id, owned, info), as `lines._FrameState`. */
static int
FrameState_init(FrameState *self, PyObject *args, PyObject *kwargs)
{
    PyObject *record, *step_id, *info;
    int owned;
    static char *names[] = {"record", "step_id", "owned", "info", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOpO", names, &record, &step_id, &owned,
                                     &info))
        return -1;
    return frame_state_fill(self, record, step_id, owned, info);
}

static PyTypeObject FrameStateType;

/* A new FrameState, made from C without parsing arguments: one for every frame entered. */
static PyObject *
new_frame_state(PyObject *record, PyObject *step_id, PyObject *owned, PyObject *info)
{
    int is_owned = PyObject_IsTrue(owned);
    if (is_owned < 0)
        return NULL;
    PyObject *state = FrameStateType.tp_alloc(&FrameStateType, 0);
    if (state != NULL &&
        frame_state_fill((FrameState *)state, record, step_id, is_owned, info) < 0)
        Py_CLEAR(state);
    return state;
}

/* Settable object fields: None stands for "not set" (never NULL once initialised). */
static int
set_object(PyObject **field, PyObject *value)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete a FrameState field");
        return -1;
    }
    Py_XSETREF(*field, Py_NewRef(value));
    return 0;
}

#define OBJECT_FIELD(name)                                                              \
    static PyObject *FrameState_get_##name(FrameState *self, void *closure)            \
    {                                                                                   \
        return Py_NewRef(self->name ? self->name : Py_None);                            \
    }                                                                                   \
    static int FrameState_set_##name(FrameState *self, PyObject *value, void *closure)  \
    {                                                                                   \
        return set_object(&self->name, value);                                          \
    }

OBJECT_FIELD(record)
OBJECT_FIELD(step_id)
OBJECT_FIELD(touched)
OBJECT_FIELD(seen)
OBJECT_FIELD(last_line)
OBJECT_FIELD(last_step)
OBJECT_FIELD(pending)
OBJECT_FIELD(after_line)

#define FLAG_FIELD(name)                                                                \
    static PyObject *FrameState_get_##name(FrameState *self, void *closure)            \
    {                                                                                   \
        return PyBool_FromLong(self->name);                                             \
    }                                                                                   \
    static int FrameState_set_##name(FrameState *self, PyObject *value, void *closure)  \
    {                                                                                   \
        int truth = value ? PyObject_IsTrue(value) : -1;                                \
        if (truth < 0) {                                                                \
            if (!PyErr_Occurred())                                                      \
                PyErr_SetString(PyExc_AttributeError, "cannot delete a FrameState field"); \
            return -1;                                                                  \
        }                                                                               \
        self->name = (char)truth;                                                       \
        return 0;                                                                       \
    }

FLAG_FIELD(owned)
FLAG_FIELD(traced)
FLAG_FIELD(containers)

#define GETSET(name) {#name, (getter)FrameState_get_##name, (setter)FrameState_set_##name, NULL, NULL}

static PyGetSetDef FrameState_getset[] = {
    GETSET(record), GETSET(step_id), GETSET(owned), GETSET(traced), GETSET(touched),
    GETSET(seen), GETSET(containers), GETSET(last_line), GETSET(last_step), GETSET(pending),
    GETSET(after_line), {NULL}
};

static PyTypeObject FrameStateType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._linecore.FrameState",
    .tp_doc = "What line tracing remembers about one traced frame (compiled).",
    .tp_basicsize = sizeof(FrameState),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)FrameState_init,
    .tp_dealloc = (destructor)FrameState_dealloc,
    .tp_traverse = (traverseproc)FrameState_traverse,
    .tp_clear = (inquiry)FrameState_clear,
    .tp_getset = FrameState_getset,
};

/* -- settling a line --------------------------------------------------------------------- */

/* changed[name] = value (stealing `value`), creating `changed` on first use. */
static int
note_change(PyObject **changed, PyObject *name, PyObject *value)
{
    if (value == NULL)
        return -1;
    if (*changed == NULL && (*changed = PyDict_New()) == NULL) {
        Py_DECREF(value);
        return -1;
    }
    int failed = PyDict_SetItem(*changed, name, value);
    Py_DECREF(value);
    return failed;
}

/* `StepRecord.add_raw`: add named raw values to a step's detail. */
static int
add_raw(FrameState *state, PyObject *changed)
{
    PyObject *known = PyDict_GetItemWithError(state->raw, state->last_step);
    if (known == NULL && PyErr_Occurred())
        return -1;
    if (known == NULL || PyObject_IsTrue(known) == 0) {
        out_of_sight(changed);
        return PyDict_SetItem(state->raw, state->last_step, changed);
    }
    PyObject *merged = PyDict_Copy(known);
    if (merged == NULL || PyDict_Update(merged, changed) < 0) {
        Py_XDECREF(merged);
        return -1;
    }
    out_of_sight(merged);
    int failed = PyDict_SetItem(state->raw, state->last_step, merged);
    Py_DECREF(merged);
    return failed;
}

/* seen[name] = (value, fingerprint), stealing `fingerprint`. */
static int
remember(FrameState *state, PyObject *name, PyObject *value, PyObject *fp)
{
    if (fp == NULL)
        return -1;
    PyObject *pair = PyTuple_Pack(2, value, fp);
    Py_DECREF(fp);
    if (pair == NULL)
        return -1;
    int failed = PyDict_SetItem(state->seen, name, pair);
    Py_DECREF(pair);
    return failed;
}

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
/* 3.11's frames (Include/internal/pycore_frame.h, fixed for the 3.11 series): the frame
 * object's start, and the interpreter frame it points to, whose `localsplus` holds the fast
 * locals. 3.11 has no `PyFrame_GetVar`, and `f_locals` copies every local (and cell) into
 * a dict, 3,000 instructions for one argument or one changed local; a plain local is read
 * from its slot instead. `FAST_LOCALS_READ_DIRECTLY` says whether the layout was confirmed
 * at import (`fast_locals_layout_holds`); if not, `f_locals` is read as before. */
typedef struct {
    PyObject *f_func, *f_globals, *f_builtins, *f_locals;
    PyCodeObject *f_code;
    PyFrameObject *frame_obj;
    void *previous;
    void *prev_instr;
    int stacktop;
    char is_entry;
    char owner;
    PyObject *localsplus[1];
} InterpreterFrame311;

typedef struct {
    PyObject_HEAD
    PyFrameObject *f_back;
    InterpreterFrame311 *f_frame;
} FrameObject311;

#define CO_FAST_LOCAL_311 0x20  /* a local; with 0x40 (cell) or 0x80 (free) it is not plain */
static int fast_locals_known = 0;

/* The slot of `name` among the fast locals of `code` (a plain local, a cell or a free
 * variable, told by `*kind`, set when found); -1 if it is no local at all. */
static Py_ssize_t
local_slot(PyCodeObject *code, PyObject *name, int *kind)
{
    PyObject *names = code->co_localsplusnames;
    Py_ssize_t count = PyTuple_GET_SIZE(names), found = -1;
    for (Py_ssize_t i = 0; i < count && found < 0; i++)
        if (PyTuple_GET_ITEM(names, i) == name)
            found = i;
    for (Py_ssize_t i = 0; i < count && found < 0; i++)
        if (_PyUnicode_EQ(PyTuple_GET_ITEM(names, i), name))
            found = i;
    if (found >= 0)
        *kind = PyBytes_AS_STRING(code->co_localspluskinds)[found] & 0xE0;
    return found;
}

/* The slot of `name` among the plain fast locals of `code`; -1 if it is none (a cell, a
 * free variable, or no local at all). */
static Py_ssize_t
plain_local_index(PyCodeObject *code, PyObject *name)
{
    int kind = 0;
    Py_ssize_t found = local_slot(code, name, &kind);
    return found >= 0 && kind == CO_FAST_LOCAL_311 ? found : -1;
}

/* Whether the layout above is this interpreter's: the frame importing this module (a
 * function of importlib) must show its own code, and every plain local it has in its
 * slot must be the object `f_locals` shows. */
static int
fast_locals_layout_holds(void)
{
    PyFrameObject *frame = PyEval_GetFrame();
    if (frame == NULL)
        return 0;
    InterpreterFrame311 *inner = ((FrameObject311 *)frame)->f_frame;
    PyCodeObject *code = PyFrame_GetCode(frame);
    int holds = inner != NULL && inner->frame_obj == frame && inner->f_code == code &&
                (code->co_flags & CO_OPTIMIZED);
    PyObject *values = holds ? PyObject_GetAttr((PyObject *)frame, STR_F_LOCALS) : NULL;
    int compared = 0;
    if (holds && values != NULL && PyDict_Check(values)) {
        PyObject *names = code->co_localsplusnames;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names) && holds; i++) {
            PyObject *name = PyTuple_GET_ITEM(names, i);
            if (plain_local_index(code, name) != i || inner->localsplus[i] == NULL)
                continue;
            holds = PyDict_GetItemWithError(values, name) == inner->localsplus[i];
            compared++;
        }
    }
    Py_DECREF(code);
    Py_XDECREF(values);
    if (PyErr_Occurred())
        return -1;
    return holds && compared > 0;
}
#endif

/* Whether a frame's locals are read one by one (`frame_var`): a function's frame, whose
 * locals are its fast locals (3.12+, and 3.11 where its frame layout was confirmed). A
 * module's or class body's frame has a real dict as `f_locals`, cheap to read. */
static int
reads_variables(PyObject *frame)
{
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
    if (!fast_locals_known)
        return 0;
#endif
    PyCodeObject *code = PyFrame_GetCode((PyFrameObject *)frame);
    int optimized = (code->co_flags & CO_OPTIMIZED) != 0;
    Py_DECREF(code);
    return optimized;
}

/* One variable of a frame `reads_variables` holds true of, a new reference; NULL without
 * an error when it is unbound. */
static PyObject *
frame_var(PyObject *frame, PyObject *name)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *value = PyFrame_GetVar((PyFrameObject *)frame, name);
    if (value == NULL && PyErr_ExceptionMatches(PyExc_NameError))
        PyErr_Clear();
    return value;
#else
    InterpreterFrame311 *inner = ((FrameObject311 *)frame)->f_frame;
    int kind = 0;
    Py_ssize_t index = local_slot(inner->f_code, name, &kind);
    if (index >= 0) {
        PyObject *value = inner->localsplus[index];
        if (kind == CO_FAST_LOCAL_311)
            return Py_XNewRef(value);
        /* A cell or a free variable, opened as `f_locals` opens it: once the frame has
         * started (3.11 reports its call at RESUME, after the prologue's MAKE_CELL and
         * COPY_FREE_VARS), its slot holds the cell. */
        int started = (const char *)inner->prev_instr >=
                      (const char *)inner->f_code->co_code_adaptive;
        if (started && value != NULL && PyCell_Check(value))
            return Py_XNewRef(PyCell_GET(value));
    }
    /* anything else (not a local, a frame not started): through `f_locals` */
    PyObject *values = PyObject_GetAttr(frame, STR_F_LOCALS);
    if (values == NULL)
        return NULL;
    PyObject *value = PyObject_GetItem(values, name);
    Py_DECREF(values);
    if (value == NULL && PyErr_ExceptionMatches(PyExc_KeyError))
        PyErr_Clear();
    return value;
#endif
}

/* One local the line may have rebound: compare it with what was seen. `values` is the
 * frame's `f_locals`, or NULL to read the one variable from the frame (`frame_var`, where
 * `reads_variables` holds: `f_locals` would copy every local into a dict first). */
static int
settle_name(FrameState *state, PyObject *frame, PyObject *values, PyObject *name,
            PyObject **changed)
{
    /* `values.get(name, missing)`: a dict on 3.11 and 3.12, a proxy of the frame on 3.13. */
    PyObject *value;
    if (values == NULL) {
        value = frame_var(frame, name);
        if (value == NULL && PyErr_Occurred())
            return -1;
    }
    else if (PyDict_CheckExact(values)) {
        value = PyDict_GetItemWithError(values, name);
        if (value == NULL && PyErr_Occurred())
            return -1;
        Py_XINCREF(value);
    }
    else {
        value = PyObject_GetItem(values, name);
        if (value == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_KeyError))
                return -1;
            PyErr_Clear();
        }
    }
    PyObject *old = PyDict_GetItemWithError(state->seen, name);
    if (old == NULL && PyErr_Occurred()) {
        Py_XDECREF(value);
        return -1;
    }
    int result = 0;
    if (value == NULL) {
        if (old != NULL) {
            if (PyDict_DelItem(state->seen, name) < 0)
                return -1;
            return note_change(changed, name, Py_NewRef(DELETED));
        }
        return 0;
    }
    int mutable = is_mutable(value);
    PyObject *fp;
    if (old != NULL && PyTuple_GET_ITEM(old, 0) == value) {
        if (!mutable) {
            Py_DECREF(value);
            return 0;
        }
        fp = fingerprint(value);
        if (fp == NULL) {
            Py_DECREF(value);
            return -1;
        }
        int same = PyObject_RichCompareBool(fp, PyTuple_GET_ITEM(old, 1), Py_EQ);
        if (same != 0) {
            Py_DECREF(fp);
            Py_DECREF(value);
            return same < 0 ? -1 : 0;
        }
    }
    else if (mutable) {
        fp = fingerprint(value);
        state->containers = 1;
    }
    else {
        fp = Py_NewRef(Py_None);
    }
    if (remember(state, name, value, fp) < 0)
        result = -1;
    else
        result = note_change(changed, name, mutable ? kept(value) : Py_NewRef(value));
    Py_DECREF(value);
    return result;
}

/* `LineEngine._settle`: attach to the previous line step the locals that line changed. */
static int
settle(PyObject *frame, FrameState *state)
{
    PyObject *names = PyDict_GetItemWithError(state->touched, state->last_line);
    if (names == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (!PyTuple_Check(names) || PyTuple_GET_SIZE(names) != 2 ||
        state->last_step == Py_None) {
        PyErr_SetString(PyExc_TypeError, "settle needs a previous line step");
        return -1;
    }
    PyObject *rebound = PyTuple_GET_ITEM(names, 0);
    PyObject *only_read = PyTuple_GET_ITEM(names, 1);
    PyObject *changed = NULL;
    PyObject *unseen = NULL;  /* read-only names not seen yet: read with the rebound ones */
    int result = -1;
    Py_ssize_t count = PyTuple_GET_SIZE(only_read);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *name = PyTuple_GET_ITEM(only_read, i);
        PyObject *old = PyDict_GetItemWithError(state->seen, name);
        if (old == NULL) {
            if (PyErr_Occurred())
                goto done;
            if (unseen == NULL && (unseen = PyList_New(0)) == NULL)
                goto done;
            if (PyList_Append(unseen, name) < 0)
                goto done;
            continue;
        }
        PyObject *old_fp = PyTuple_GET_ITEM(old, 1);
        if (old_fp == Py_None)
            continue;
        PyObject *value = PyTuple_GET_ITEM(old, 0);
        PyObject *fp = fingerprint(value);
        if (fp == NULL)
            goto done;
        int same = PyObject_RichCompareBool(fp, old_fp, Py_EQ);
        if (same < 0) {
            Py_DECREF(fp);
            goto done;
        }
        if (same) {
            Py_DECREF(fp);
            continue;
        }
        Py_INCREF(value);  /* `remember` replaces the pair holding it */
        if (remember(state, name, value, fp) < 0 ||
            note_change(&changed, name, kept(value)) < 0) {
            Py_DECREF(value);
            goto done;
        }
        Py_DECREF(value);
    }
    if (PyTuple_GET_SIZE(rebound) > 0 || unseen != NULL) {
        PyObject *values = NULL;
        if (!reads_variables(frame)) {
            values = PyObject_GetAttr(frame, STR_F_LOCALS);
            if (values == NULL)
                goto done;
        }
        Py_ssize_t total = PyTuple_GET_SIZE(rebound);
        for (Py_ssize_t i = 0; i < total; i++) {
            if (settle_name(state, frame, values, PyTuple_GET_ITEM(rebound, i),
                            &changed) < 0) {
                Py_XDECREF(values);
                goto done;
            }
        }
        total = unseen ? PyList_GET_SIZE(unseen) : 0;
        for (Py_ssize_t i = 0; i < total; i++) {
            if (settle_name(state, frame, values, PyList_GET_ITEM(unseen, i), &changed) < 0) {
                Py_XDECREF(values);
                goto done;
            }
        }
        Py_XDECREF(values);
    }
    result = changed != NULL && PyDict_GET_SIZE(changed) ? add_raw(state, changed) : 0;
done:
    Py_XDECREF(changed);
    Py_XDECREF(unseen);
    return result;
}

/* The step `number` of the frame (a line, or its return) appended to the record's step
 * log, stamped now (a return with this thread): 1 when logged, 0 when the record has no
 * log or the step is not plain integers (it is then stored as a row), -1 on error. */
static int
log_step(FrameState *state, Py_ssize_t number, PyObject *line, int kind)
{
    if (state->log == NULL || !PyLong_CheckExact(state->step_id) || !PyLong_CheckExact(line))
        return 0;
    long long parent = PyLong_AsLongLong(state->step_id), at = PyLong_AsLongLong(line);
    if ((parent == -1 || at == -1) && PyErr_Occurred())
        return -1;
    LoggedStep step = {number, parent, at, now_ns_value(),
                       kind == LOGGED_RETURN ? PyThread_get_thread_ident() : 0, kind};
    return step_log_add(state->log, step) < 0 ? -1 : 1;
}

/* `StepRecord.add_line`: a short row (parent, line, time); the step's id, or None past
 * the cap (counted by the record's own `drop`). Returns a new reference. */
static PyObject *
add_line(FrameState *state, PyObject *line)
{
    PyObject *step_id = PyIter_Next(state->ids);
    if (step_id == NULL)
        return NULL;
    Py_ssize_t number = PyLong_AsSsize_t(step_id);
    if (number == -1 && PyErr_Occurred()) {
        Py_DECREF(step_id);
        return NULL;
    }
    if (number >= state->max_steps) {
        Py_DECREF(step_id);
        PyObject *dropped = PyObject_CallMethodNoArgs(state->record, STR_DROP);
        if (dropped == NULL)
            return NULL;
        Py_DECREF(dropped);
        Py_RETURN_NONE;
    }
    int logged = log_step(state, number, line, LOGGED_LINE);
    if (logged != 0) {
        if (logged < 0)
            Py_CLEAR(step_id);
        return step_id;
    }
    PyObject *time = now_ns();
    PyObject *row = time ? untracked_row(PyTuple_Pack(3, state->step_id, line, time)) : NULL;
    Py_XDECREF(time);
    if (row == NULL || PyDict_SetItem(state->steps, step_id, row) < 0) {
        Py_XDECREF(row);
        Py_DECREF(step_id);
        return NULL;
    }
    Py_DECREF(row);
    return step_id;
}

/* `LineEngine._line`: a new line starts. */
static int
new_line(PyObject *frame, FrameState *state, PyObject *line)
{
    PyObject *names = PyDict_GetItemWithError(state->touched, state->last_line);
    if (names == NULL && PyErr_Occurred())
        return -1;
    if (names != NULL && PyTuple_Check(names) && PyTuple_GET_SIZE(names) == 2 &&
        (PyTuple_GET_SIZE(PyTuple_GET_ITEM(names, 0)) > 0 || state->containers)) {
        if (settle(frame, state) < 0)
            return -1;
    }
    Py_SETREF(state->pending, Py_NewRef(Py_None));
    PyObject *after = state->after_line;
    if (after != Py_None && PyTuple_Check(after) && PyTuple_GET_SIZE(after) >= 2) {
        int same = PyObject_RichCompareBool(state->last_line, PyTuple_GET_ITEM(after, 0), Py_EQ);
        if (same < 0)
            return -1;
        if (same) {
            Py_INCREF(after);
            PyObject *done = PyObject_CallOneArg(PyTuple_GET_ITEM(after, 1), frame);
            Py_DECREF(after);
            if (done == NULL)
                return -1;
            Py_DECREF(done);
        }
    }
    PyObject *step = add_line(state, line);
    if (step == NULL)
        return -1;
    Py_SETREF(state->last_line, step == Py_None ? Py_NewRef(Py_None) : Py_NewRef(line));
    Py_SETREF(state->last_step, step);
    return 0;
}

static PyObject *
line_function(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyObject_TypeCheck(args[1], &FrameStateType)) {
        PyErr_SetString(PyExc_TypeError, "line(frame, state, line)");
        return NULL;
    }
    if (new_line(args[0], (FrameState *)args[1], args[2]) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
settle_function(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyObject_TypeCheck(args[1], &FrameStateType)) {
        PyErr_SetString(PyExc_TypeError, "settle(frame, state)");
        return NULL;
    }
    if (settle(args[0], (FrameState *)args[1]) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* -- a traced frame returns ---------------------------------------------------------------
 *
 * `LineEngine._exit` then `Recorder.close_frame` for a frame that returned or yielded a
 * value: the last line's locals settled, the frame's call step taken off the context's
 * step stack (`recorder._stack`, as `recorder._close` does), and its return step added as
 * `StepRecord.add` adds one. A frame that ends by an exception goes through Python. */



/* `StepRecord.add(call, "return", …, {"result": kept value})` for the call step's frame. */
static int
add_return(FrameState *state, PyObject *line, PyObject *value)
{
    PyObject *call = PyDict_GetItemWithError(state->steps, state->step_id);
    if (call == NULL || !PyTuple_Check(call) || PyTuple_GET_SIZE(call) < 9) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_KeyError, "the call step of a returning frame");
        return -1;
    }
    Py_INCREF(call);
    PyObject *detail = returned_function(NULL, value);
    PyObject *step_id = detail ? PyIter_Next(state->ids) : NULL;
    int result = -1;
    if (step_id == NULL) {
        if (detail != NULL && !PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "the step ids ran out");
        goto done;
    }
    Py_ssize_t number = PyLong_AsSsize_t(step_id);
    if (number == -1 && PyErr_Occurred())
        goto done;
    if (number >= state->max_steps) {
        PyObject *dropped = PyObject_CallMethodNoArgs(state->record, STR_DROP);
        result = dropped == NULL ? -1 : 0;
        Py_XDECREF(dropped);
        goto done;
    }
    out_of_sight(detail);
    if (PyDict_SetItem(state->raw, step_id, detail) < 0)
        goto done;
    int logged = log_step(state, number, line, LOGGED_RETURN);
    if (logged != 0) {
        result = logged < 0 ? -1 : 0;
        goto done;
    }
    PyObject *time = now_ns();
    PyObject *thread = time ? PyLong_FromUnsignedLong(PyThread_get_thread_ident()) : NULL;
    PyObject *row = thread ? untracked_row(PyTuple_Pack(
        9, step_id, state->step_id, STR_RETURN, PyTuple_GET_ITEM(call, 3),
        PyTuple_GET_ITEM(call, 4), line, time, thread, PyTuple_GET_ITEM(call, 8))) : NULL;
    Py_XDECREF(time);
    Py_XDECREF(thread);
    if (row != NULL) {
        result = PyDict_SetItem(state->steps, step_id, row);
        Py_DECREF(row);
    }
done:
    Py_XDECREF(step_id);
    Py_XDECREF(detail);
    Py_DECREF(call);
    return result;
}

/* The frame returned (or yielded) `value` at `line` (NULL: the frame's line now); its state
 * is already out of the engine's dict. */
static int
frame_returned(PyObject *frame, FrameState *state, PyObject *value, PyObject *line)
{
    PyObject *names = PyDict_GetItemWithError(state->touched, state->last_line);
    if (names == NULL && PyErr_Occurred())
        return -1;
    if (names != NULL && PyTuple_Check(names) && PyTuple_GET_SIZE(names) == 2 &&
        (PyTuple_GET_SIZE(PyTuple_GET_ITEM(names, 0)) > 0 || state->containers)) {
        if (settle(frame, state) < 0)
            return -1;
    }
    if (!state->owned || state->step_id == Py_None)
        return 0;
    if (close_step_on(STEP_STACK, state->step_id) < 0)
        return -1;
    if (line != NULL)
        return add_return(state, line, value);
    PyObject *now = PyLong_FromLong(PyFrame_GetLineNumber((PyFrameObject *)frame));
    if (now == NULL)
        return -1;
    int result = add_return(state, now, value);
    Py_DECREF(now);
    return result;
}

/* The error set now, told to the recorder (`recorder.failed`), which counts it in the
 * trace: 0 when told. An error that is not an Exception (KeyboardInterrupt and the like)
 * stays set and -1 is returned: it reaches the app, as in the pure engine. */
static int
tell_failure(PyObject *failed)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception))
        return -1;
    PyObject *kind, *exc, *traceback;
    PyErr_Fetch(&kind, &exc, &traceback);
    PyErr_NormalizeException(&kind, &exc, &traceback);
    if (traceback != NULL)
        PyException_SetTraceback(exc, traceback);
    Py_XDECREF(kind);
    Py_XDECREF(traceback);
    PyObject *told = PyObject_CallOneArg(failed, exc);
    Py_XDECREF(exc);
    if (told == NULL)
        return -1;
    Py_DECREF(told);
    return 0;
}

/* -- LineEvents: the sys.monitoring LINE callback (3.12+) ------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *frames;  /* id(frame) -> FrameState, the engine's own dict */
    PyObject *failed;  /* recorder.failed(error) */
    vectorcallfunc vectorcall;
    PyObject *lines;   /* ReturnEvents: address of a code -> {offset: line}, else NULL */
} LineEvents;

static int
LineEvents_traverse(LineEvents *self, visitproc visit, void *arg)
{
    Py_VISIT(self->frames);
    Py_VISIT(self->failed);
    Py_VISIT(self->lines);
    return 0;
}

static int
LineEvents_clear(LineEvents *self)
{
    Py_CLEAR(self->frames);
    Py_CLEAR(self->failed);
    Py_CLEAR(self->lines);
    return 0;
}

static void
LineEvents_dealloc(LineEvents *self)
{
    PyObject_GC_UnTrack(self);
    LineEvents_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* callback(code, line): the frame running `code` is the current one (no frame of ours). */
static PyObject *
LineEvents_vectorcall(LineEvents *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) != 2) {
        PyErr_SetString(PyExc_TypeError, "LineEvents(code, line)");
        return NULL;
    }
    PyFrameObject *frame = PyEval_GetFrame();
    if (frame == NULL)
        Py_RETURN_NONE;
    PyObject *key = PyLong_FromVoidPtr(frame);
    if (key == NULL)
        return NULL;
    PyObject *state = PyDict_GetItemWithError(self->frames, key);
    Py_DECREF(key);
    if (state == NULL) {
        if (PyErr_Occurred())
            goto failed;
        Py_RETURN_NONE;
    }
    if (!PyObject_TypeCheck(state, &FrameStateType)) {
        PyErr_SetString(PyExc_TypeError, "a frame state of the other engine");
        goto failed;
    }
    Py_INCREF(state);
    int error = new_line((PyObject *)frame, (FrameState *)state, args[1]);
    Py_DECREF(state);
    if (error == 0)
        Py_RETURN_NONE;
failed:
    if (tell_failure(self->failed) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
LineEvents_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *frames, *failed;
    static char *names[] = {"frames", "failed", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O", names, &PyDict_Type, &frames,
                                     &failed))
        return NULL;
    LineEvents *self = (LineEvents *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->frames = Py_NewRef(frames);
    self->failed = Py_NewRef(failed);
    self->vectorcall = (vectorcallfunc)LineEvents_vectorcall;
    return (PyObject *)self;
}

static PyTypeObject LineEventsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._linecore.LineEvents",
    .tp_doc = "LineEvents(frames, failed): the sys.monitoring LINE callback (compiled).",
    .tp_basicsize = sizeof(LineEvents),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = LineEvents_new,
    .tp_dealloc = (destructor)LineEvents_dealloc,
    .tp_traverse = (traverseproc)LineEvents_traverse,
    .tp_clear = (inquiry)LineEvents_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(LineEvents, vectorcall),
};

/* -- ReturnEvents: the sys.monitoring PY_RETURN and PY_YIELD callback (3.12+) ----------- */

/* The line of the instruction at `offset` in `code`, remembered (a new reference): 3.12
 * reads a code's line table from its start to find one, about 1,400 instructions for a
 * return in Flask's longer functions. Every code whose frame has a state is kept alive by
 * the engine's `_CodeInfo`, so its address names it while this object lives. */
static PyObject *
return_line(LineEvents *self, PyObject *code, PyObject *offset)
{
    if (!PyCode_Check(code) || !PyLong_Check(offset)) {
        PyErr_SetString(PyExc_TypeError, "ReturnEvents(code, offset, value)");
        return NULL;
    }
    if (self->lines == NULL && (self->lines = PyDict_New()) == NULL)
        return NULL;
    PyObject *key = PyLong_FromVoidPtr(code);
    if (key == NULL)
        return NULL;
    PyObject *known = PyDict_GetItemWithError(self->lines, key);
    if (known == NULL) {
        if (PyErr_Occurred() || (known = PyDict_New()) == NULL) {
            Py_DECREF(key);
            return NULL;
        }
        int stored = PyDict_SetItem(self->lines, key, known);
        Py_DECREF(known);  /* the dict holds it */
        if (stored < 0) {
            Py_DECREF(key);
            return NULL;
        }
    }
    Py_DECREF(key);
    PyObject *line = PyDict_GetItemWithError(known, offset);
    if (line != NULL)
        return Py_NewRef(line);
    if (PyErr_Occurred())
        return NULL;
    long at = PyLong_AsLong(offset);
    if (at == -1 && PyErr_Occurred())
        return NULL;
    if (at < 0 || at > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "an instruction offset out of range");
        return NULL;
    }
    line = PyLong_FromLong(PyCode_Addr2Line((PyCodeObject *)code, (int)at));
    if (line != NULL && PyDict_SetItem(known, offset, line) < 0)
        Py_CLEAR(line);
    return line;
}

/* callback(code, offset, value): the frame running `code` returns or yields `value`. Same
 * layout as LineEvents. */
static PyObject *
ReturnEvents_vectorcall(LineEvents *self, PyObject *const *args, size_t nargsf,
                        PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) != 3) {
        PyErr_SetString(PyExc_TypeError, "ReturnEvents(code, offset, value)");
        return NULL;
    }
    PyFrameObject *frame = PyEval_GetFrame();
    if (frame == NULL)
        Py_RETURN_NONE;
    PyObject *key = PyLong_FromVoidPtr(frame);
    if (key == NULL)
        return NULL;
    PyObject *found = PyDict_GetItemWithError(self->frames, key);
    int error = 0;
    if (found == NULL)
        error = PyErr_Occurred() ? -1 : 0;
    else if (!PyObject_TypeCheck(found, &FrameStateType)) {
        PyErr_SetString(PyExc_TypeError, "a frame state of the other engine");
        error = -1;
    }
    else {
        Py_INCREF(found);
        error = PyDict_DelItem(self->frames, key);
        PyObject *line = error == 0 ? return_line(self, args[0], args[1]) : NULL;
        error = line == NULL ? -1
                             : frame_returned((PyObject *)frame, (FrameState *)found, args[2],
                                              line);
        Py_XDECREF(line);
        Py_DECREF(found);
    }
    Py_DECREF(key);
    if (error < 0 && tell_failure(self->failed) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
ReturnEvents_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    LineEvents *self = (LineEvents *)LineEvents_new(type, args, kwargs);
    if (self != NULL)
        self->vectorcall = (vectorcallfunc)ReturnEvents_vectorcall;
    return (PyObject *)self;
}

static PyTypeObject ReturnEventsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._linecore.ReturnEvents",
    .tp_doc = "ReturnEvents(frames, failed): the sys.monitoring PY_RETURN/PY_YIELD callback.",
    .tp_basicsize = sizeof(LineEvents),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = ReturnEvents_new,
    .tp_dealloc = (destructor)LineEvents_dealloc,
    .tp_traverse = (traverseproc)LineEvents_traverse,
    .tp_clear = (inquiry)LineEvents_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(LineEvents, vectorcall),
};

/* -- StartEvents: the sys.monitoring PY_START callback (3.12+) --------------------------
 *
 * The common calls, while a request or a registration is recorded: a code object in scope
 * seen before (its lines switched on), or one out of scope called from code in scope (one
 * collapsed step, its returns switched on), neither watched by the watcher. The call step
 * is opened as `LineEngine._enter` opens it (arguments kept, the step through
 * `Recorder.open_frame`), its frame state made here; a call while nothing is recorded is
 * let go. Every other call goes to the engine's own `_on_start`. */

typedef struct {
    PyObject_HEAD
    PyObject *codes;        /* id(code) -> _CodeInfo, the engine's */
    PyObject *watched;      /* id(code) -> what the watcher watches */
    PyObject *frames;       /* id(frame) -> FrameState, the engine's */
    PyObject *after_lines;  /* id(code) -> (line, callback, code), the engine's */
    PyObject *fallback;     /* engine._on_start(code, offset) */
    PyObject *registration; /* recorder.registration: the record outside requests */
    PyObject *code_objects; /* recorder._codes: id(code) -> code, whose sources to embed */
    PyObject *request_var;  /* recorder._record: the request recorded in this context */
    PyObject *window_var;   /* lines.registration_window */
    PyObject *bookkeeping;  /* recorder.bookkeeping: `muted` inside flaskscope's own work */
    PyObject *disable;      /* sys.monitoring.DISABLE */
    PyObject *set_events;   /* set_local_events(code, mask) for this tool */
    PyObject *call_mask;    /* the events of a collapsed call: returns, yields, resumes */
    PyObject *failed;
    vectorcallfunc vectorcall;
} StartEvents;

static PyObject *STR_TRANSPARENT;

static PyObject *STR_IGNORED, *STR_ARGUMENTS, *STR_MUTED, *STR_SELF, *STR_CLS,
    *STR_REVISION, *ONE;

static int
StartEvents_traverse(StartEvents *self, visitproc visit, void *arg)
{
    Py_VISIT(self->codes);
    Py_VISIT(self->watched);
    Py_VISIT(self->frames);
    Py_VISIT(self->after_lines);
    Py_VISIT(self->fallback);
    Py_VISIT(self->registration);
    Py_VISIT(self->code_objects);
    Py_VISIT(self->request_var);
    Py_VISIT(self->window_var);
    Py_VISIT(self->bookkeeping);
    Py_VISIT(self->disable);
    Py_VISIT(self->set_events);
    Py_VISIT(self->call_mask);
    Py_VISIT(self->failed);
    return 0;
}

static int
StartEvents_clear(StartEvents *self)
{
    Py_CLEAR(self->codes);
    Py_CLEAR(self->watched);
    Py_CLEAR(self->frames);
    Py_CLEAR(self->after_lines);
    Py_CLEAR(self->fallback);
    Py_CLEAR(self->registration);
    Py_CLEAR(self->code_objects);
    Py_CLEAR(self->request_var);
    Py_CLEAR(self->window_var);
    Py_CLEAR(self->bookkeeping);
    Py_CLEAR(self->disable);
    Py_CLEAR(self->set_events);
    Py_CLEAR(self->call_mask);
    Py_CLEAR(self->failed);
    return 0;
}

static void
StartEvents_dealloc(StartEvents *self)
{
    PyObject_GC_UnTrack(self);
    StartEvents_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* 1 when `info.name` is true, 0 when not, -1 on error (`cache`: see `slot_get`). */
static int
flag(PyObject *info, PyObject *name, SlotCache *cache)
{
    PyObject *value = slot_get(info, name, cache);
    if (value == NULL)
        return -1;
    int truth = PyObject_IsTrue(value);
    Py_DECREF(value);
    return truth;
}

/* `LineEngine.recording()`: inside a request or a recorded registration, and not inside
 * flaskscope's own bookkeeping. */
static int
recording(StartEvents *self)
{
    PyObject *value;
    if (PyContextVar_Get(self->request_var, Py_None, &value) < 0)
        return -1;
    int inside = value != NULL && value != Py_None;
    Py_XDECREF(value);
    if (!inside) {
        if (PyContextVar_Get(self->window_var, Py_False, &value) < 0)
            return -1;
        inside = value == NULL ? 0 : PyObject_IsTrue(value);
        Py_XDECREF(value);
        if (inside <= 0)
            return inside;
    }
    PyObject *muted = PyObject_GetAttr(self->bookkeeping, STR_MUTED);
    if (muted == NULL)
        return -1;
    int busy = PyObject_IsTrue(muted);
    Py_DECREF(muted);
    return busy < 0 ? -1 : !busy;
}

/* One argument of a starting frame, a new reference; NULL without an error when unbound. */
static PyObject *
argument(PyObject *frame, PyObject *values, PyObject *name)
{
    if (values == NULL)
        return frame_var(frame, name);
    PyObject *value = PyObject_GetItem(values, name);
    if (value == NULL && PyErr_ExceptionMatches(PyExc_KeyError))
        PyErr_Clear();
    return value;
}

/* `Recorder.open_frame`'s first case: the innermost open step `parent`, which no frame
 * has taken, is a hook's call step for this very code; the frame takes it, adding its
 * arguments (`cls` left out) to the step's raw detail as `StepRecord.add_raw` does. 1 when
 * taken, 0 when `parent` is another call's, -1 on error. */
static int
adopt_hook_step(PyObject *record, PyObject *steps, PyObject *raw, PyObject *parent,
                PyObject *code, PyObject *arguments)
{
    PyCodeObject *function = (PyCodeObject *)code;
    PyObject *top = PyDict_GetItemWithError(steps, parent);
    if (top == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (!PyTuple_Check(top) || PyTuple_GET_SIZE(top) < 9 ||
        !PyLong_CheckExact(PyTuple_GET_ITEM(top, 5)))
        return 0;
    long first_line = PyLong_AsLong(PyTuple_GET_ITEM(top, 5));
    if (first_line == -1 && PyErr_Occurred())
        return -1;
    if (first_line != function->co_firstlineno)
        return 0;
    int same = PyObject_RichCompareBool(PyTuple_GET_ITEM(top, 3), function->co_qualname, Py_EQ);
    if (same > 0)
        same = PyObject_RichCompareBool(PyTuple_GET_ITEM(top, 4), function->co_filename, Py_EQ);
    if (same <= 0)
        return same;
    int has_cls = PyDict_Contains(arguments, STR_CLS);
    if (has_cls < 0 || (has_cls && PyDict_DelItem(arguments, STR_CLS) < 0))
        return -1;
    /* `StepRecord.add_raw`: none known yet (no frame took the step), so `arguments` */
    out_of_sight(arguments);
    if (PyDict_SetItem(raw, parent, arguments) < 0)
        return -1;
    static SlotCache revision_slot;
    PyObject *revision = slot_get(record, STR_REVISION, &revision_slot);
    PyObject *next = revision ? PyNumber_Add(revision, ONE) : NULL;
    Py_XDECREF(revision);
    int failed = next == NULL || PyObject_SetAttr(record, STR_REVISION, next) < 0;
    Py_XDECREF(next);
    return failed ? -1 : 1;
}

/* `Recorder.open_frame(code, arguments, None, None)`: the frame takes the step a hook has
 * just opened for its code (`adopt_hook_step`), else opens a new one. Returns (record,
 * step id, owned), a new reference. */
static PyObject *
open_call(StartEvents *self, PyObject *code, PyObject *arguments)
{
    PyObject *record, *stack = NULL, *result = NULL;
    if (PyContextVar_Get(self->request_var, Py_None, &record) < 0)
        return NULL;
    if (record == Py_None) {
        Py_SETREF(record, Py_NewRef(self->registration));
    }
    static SlotCache steps_slot, raw_slot, ids_slot, max_slot;
    PyObject *steps = slot_get(record, STR_STEPS, &steps_slot);
    PyObject *raw = steps ? slot_get(record, STR_RAW, &raw_slot) : NULL;
    PyObject *ids = raw ? slot_get(record, STR_IDS, &ids_slot) : NULL;
    PyObject *max_steps = ids ? slot_get(record, STR_MAX_STEPS, &max_slot) : NULL;
    PyObject *step_id = NULL, *row = NULL;
    if (max_steps == NULL || !PyDict_Check(steps) || !PyDict_Check(raw)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "open_call needs a StepRecord");
        goto done;
    }
    if (PyContextVar_Get(STEP_STACK, NULL, &stack) < 0)
        goto done;
    if (stack == NULL || !PyTuple_Check(stack)) {
        PyErr_SetString(PyExc_TypeError, "the step stack is not a tuple");
        goto done;
    }
    Py_ssize_t depth = PyTuple_GET_SIZE(stack);
    PyObject *parent = depth ? PyTuple_GET_ITEM(stack, depth - 1) : Py_None;
    if (parent != Py_None) {
        int taken = PyDict_Contains(raw, parent);
        if (taken < 0)
            goto done;
        if (!taken) {  /* maybe a hook's step for this very frame */
            int adopted = adopt_hook_step(record, steps, raw, parent, code, arguments);
            if (adopted != 0) {
                result = adopted < 0 ? NULL : PyTuple_Pack(3, record, parent, Py_False);
                goto done;
            }
        }
    }
    PyObject *code_key = PyLong_FromVoidPtr(code);
    if (code_key == NULL || PyDict_SetItem(self->code_objects, code_key, code) < 0) {
        Py_XDECREF(code_key);
        goto done;
    }
    Py_DECREF(code_key);
    step_id = PyIter_Next(ids);
    if (step_id == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "the step ids ran out");
        goto done;
    }
    Py_ssize_t number = PyLong_AsSsize_t(step_id);
    Py_ssize_t limit = PyLong_AsSsize_t(max_steps);
    if ((number == -1 || limit == -1) && PyErr_Occurred())
        goto done;
    if (number >= limit) {  /* past the cap: counted, and the frame has no step */
        PyObject *dropped = PyObject_CallMethodNoArgs(record, STR_DROP);
        if (dropped == NULL)
            goto done;
        Py_DECREF(dropped);
        result = PyTuple_Pack(3, record, Py_None, Py_True);
        goto done;
    }
    /* `StepRecord.add`: raw arguments (kept even when empty: the frame took the step) */
    out_of_sight(arguments);
    if (PyDict_SetItem(raw, step_id, arguments) < 0)
        goto done;
    PyCodeObject *function = (PyCodeObject *)code;
    PyObject *first_line = PyLong_FromLong(function->co_firstlineno);
    PyObject *time = first_line ? now_ns() : NULL;
    PyObject *thread = time ? PyLong_FromUnsignedLong(PyThread_get_thread_ident()) : NULL;
    if (thread != NULL)
        row = untracked_row(PyTuple_Pack(9, step_id, parent, STR_CALL, function->co_qualname,
                                         function->co_filename, first_line, time, thread,
                                         Py_None));
    Py_XDECREF(first_line);
    Py_XDECREF(time);
    Py_XDECREF(thread);
    if (row == NULL || PyDict_SetItem(steps, step_id, row) < 0)
        goto done;
    /* `_stack.set((*stack, step_id))` */
    PyObject *longer = PyTuple_New(depth + 1);
    if (longer == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < depth; i++)
        PyTuple_SET_ITEM(longer, i, Py_NewRef(PyTuple_GET_ITEM(stack, i)));
    PyTuple_SET_ITEM(longer, depth, Py_NewRef(step_id));
    PyObject *token = PyContextVar_Set(STEP_STACK, longer);
    Py_DECREF(longer);
    if (token == NULL)
        goto done;
    Py_DECREF(token);
    result = PyTuple_Pack(3, record, step_id, Py_True);
done:
    Py_XDECREF(row);
    Py_XDECREF(step_id);
    Py_XDECREF(stack);
    Py_XDECREF(max_steps);
    Py_XDECREF(ids);
    Py_XDECREF(raw);
    Py_XDECREF(steps);
    Py_DECREF(record);
    return result;
}

/* `LineEngine._enter` for a frame that starts, of a code in scope the watcher leaves be. */
static int
enter_frame(StartEvents *self, PyObject *frame, PyObject *code, PyObject *info,
            PyObject *code_key)
{
    static SlotCache arguments_slot;
    PyObject *names = slot_get(info, STR_ARGUMENTS, &arguments_slot);
    if (names == NULL)
        return -1;
    if (!PyTuple_Check(names)) {
        Py_DECREF(names);
        PyErr_SetString(PyExc_TypeError, "_CodeInfo.arguments is not a tuple");
        return -1;
    }
    PyObject *values = NULL, *arguments = PyDict_New(), *seen = PyDict_New();
    PyObject *state = NULL, *opened = NULL;
    int containers = 0, result = -1;
    if (arguments == NULL || seen == NULL)
        goto done;
    if (!reads_variables(frame) && (values = PyObject_GetAttr(frame, STR_F_LOCALS)) == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        PyObject *value = argument(frame, values, name);
        if (value == NULL) {
            if (PyErr_Occurred())
                goto done;
            containers = 1;
            continue;
        }
        int mutable = is_mutable(value);
        PyObject *fp = mutable ? fingerprint(value) : Py_NewRef(Py_None);
        PyObject *shown = fp == NULL ? NULL : mutable ? kept(value) : Py_NewRef(value);
        PyObject *pair = shown == NULL ? NULL : PyTuple_Pack(2, value, fp);
        int failed = pair == NULL || PyDict_SetItem(seen, name, pair) < 0 ||
                     PyDict_SetItem(arguments, name, shown) < 0;
        Py_XDECREF(pair);
        Py_XDECREF(shown);
        Py_XDECREF(fp);
        Py_DECREF(value);
        if (failed)
            goto done;
        containers |= mutable;
    }
    /* `arguments.pop("self", None)`, asked first: a KeyError costs more than the call */
    int has_self = PyDict_Contains(arguments, STR_SELF);
    if (has_self < 0 || (has_self && PyDict_DelItem(arguments, STR_SELF) < 0))
        goto done;
    opened = open_call(self, code, arguments);
    if (opened == NULL)
        goto done;
    if (!PyTuple_Check(opened) || PyTuple_GET_SIZE(opened) != 3) {
        PyErr_SetString(PyExc_TypeError, "open_frame gives (record, step id, owned)");
        goto done;
    }
    state = new_frame_state(PyTuple_GET_ITEM(opened, 0), PyTuple_GET_ITEM(opened, 1),
                            PyTuple_GET_ITEM(opened, 2), info);
    if (state == NULL)
        goto done;
    FrameState *frame_state = (FrameState *)state;
    PyObject *after = PyDict_GetItemWithError(self->after_lines, code_key);
    if (after == NULL && PyErr_Occurred())
        goto done;
    Py_SETREF(frame_state->after_line, Py_NewRef(after == NULL ? Py_None : after));
    Py_SETREF(frame_state->seen, Py_NewRef(seen));
    frame_state->containers = (char)containers;
    PyObject *frame_key = PyLong_FromVoidPtr(frame);
    if (frame_key == NULL)
        goto done;
    result = PyDict_SetItem(self->frames, frame_key, state);
    Py_DECREF(frame_key);
done:
    Py_DECREF(names);
    Py_XDECREF(values);
    Py_XDECREF(arguments);
    Py_XDECREF(seen);
    Py_XDECREF(opened);
    Py_XDECREF(state);
    return result;
}

/* `LineEngine._called_from_scope`: the first caller past transparent wrappers is a frame
 * traced line by line (a call out of scope made by code in scope: one collapsed step). */
static int
called_from_scope(StartEvents *self, PyFrameObject *frame)
{
    static SlotCache state_traced_slot, transparent_slot;
    PyFrameObject *caller = PyFrame_GetBack(frame);
    int result = 0;
    while (caller != NULL) {
        PyObject *key = PyLong_FromVoidPtr(caller);
        PyObject *state = key ? PyDict_GetItemWithError(self->frames, key) : NULL;
        Py_XDECREF(key);
        if (state != NULL) {
            result = PyObject_TypeCheck(state, &FrameStateType)
                ? ((FrameState *)state)->traced : flag(state, STR_TRACED, &state_traced_slot);
            break;
        }
        if (PyErr_Occurred()) {
            result = -1;
            break;
        }
        PyCodeObject *code = PyFrame_GetCode(caller);
        key = PyLong_FromVoidPtr(code);
        Py_DECREF(code);
        PyObject *info = key ? PyDict_GetItemWithError(self->codes, key) : NULL;
        Py_XDECREF(key);
        if (info == NULL) {
            result = PyErr_Occurred() ? -1 : 0;
            break;
        }
        int transparent = flag(info, STR_TRANSPARENT, &transparent_slot);
        if (transparent <= 0) {
            result = transparent;
            break;
        }
        PyFrameObject *next = PyFrame_GetBack(caller);
        Py_DECREF(caller);
        caller = next;
    }
    Py_XDECREF(caller);
    return result;
}

/* What `start_call` did with a call. */
/* START_NEVER: let go, and no later event can make this frame a step (3.11 then stops
 * delivering its lines: `stop_line_events`). */
enum { START_PASSED = 0, START_ENTERED, START_IGNORED, START_LET_GO, START_NEVER };

/* CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR */
#define GENERATOR_FLAGS (0x20 | 0x80 | 0x100 | 0x200)

/* Whether a generator or coroutine's frame carries on after a yield rather than starts:
 * it stands at RESUME with a non-zero argument (`LineEngine._is_resume`). 3.11 only: a
 * C-level trace function sees each resumption as a call. */
static int
is_resumption(PyFrameObject *frame, PyCodeObject *code)
{
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
    const unsigned char RESUME_OPCODE = RESUME;  /* Include/opcode.h, 3.11's numbering */
    int offset = PyFrame_GetLasti(frame);
    if (offset < 0)
        return 0;
    PyObject *bytecode = PyCode_GetCode(code);
    if (bytecode == NULL)
        return -1;
    int resumed = 0;
    if (offset + 1 < PyBytes_GET_SIZE(bytecode)) {
        const unsigned char *at = (const unsigned char *)PyBytes_AS_STRING(bytecode) + offset;
        resumed = at[0] == RESUME_OPCODE && at[1] != 0;
    }
    Py_DECREF(bytecode);
    return resumed;
#else
    (void)frame;
    (void)code;
    return 0;
#endif
}

/* A call starts (`frame` NULL: the current frame, 3.12+; else the frame a C-level trace
 * function was given, 3.11). Handles the common calls; START_PASSED leaves the call to
 * the engine's Python (`_on_start`, `_global_trace`), -1 is an error. */
static int
start_call(StartEvents *self, PyFrameObject *frame, PyObject *code, int settrace)
{
    PyObject *key = PyLong_FromVoidPtr(code);
    if (key == NULL)
        return -1;
    PyObject *info = PyDict_GetItemWithError(self->codes, key);
    if (info == NULL) {
        Py_DECREF(key);
        return PyErr_Occurred() ? -1 : START_PASSED;
    }
    Py_INCREF(info);
    int result = -1, traced = 0, common = 0;
    static SlotCache ignored_slot, traced_slot, touched_slot;
    int ignored = flag(info, STR_IGNORED, &ignored_slot);
    if (ignored != 0) {
        result = ignored < 0 ? -1 : START_IGNORED;
        goto done;
    }
    traced = flag(info, STR_TRACED, &traced_slot);
    PyObject *touched = traced > 0 ? slot_get(info, STR_TOUCHED, &touched_slot) : NULL;
    /* in scope and seen before, or out of scope: both handled here, unless watched; on
     * 3.11 not a generator or coroutine (a resumption is told by its bytecode, there) */
    common = traced == 0 || (traced > 0 && touched != NULL && touched != Py_None);
    Py_XDECREF(touched);
    if (common && settrace && (((PyCodeObject *)code)->co_flags & GENERATOR_FLAGS)) {
        /* 3.11 calls a generator's every resumption a call. Out of scope, only its first
         * entry may be a step; in scope, the engine opens a resumed step (Python). */
        int resumed = traced ? 0 : is_resumption(frame, (PyCodeObject *)code);
        if (resumed != 0) {
            result = resumed < 0 ? -1 : START_LET_GO;
            goto done;
        }
        common = !traced;
    }
    if (common) {
        PyObject *watched = PyDict_GetItemWithError(self->watched, key);
        common = watched == NULL;
    }
    if (PyErr_Occurred())
        goto done;
    /* As the engine: nothing more while nothing is recorded here (flaskscope's own
     * bookkeeping calls out-of-scope code at every step). */
    int inside = recording(self);
    if (inside <= 0) {
        result = inside < 0 ? -1 : START_LET_GO;
        goto done;
    }
    if (!common) {
        result = START_PASSED;
        goto done;
    }
    if (frame == NULL && (frame = PyEval_GetFrame()) == NULL) {
        result = START_LET_GO;
        goto done;
    }
    if (!traced) {  /* out of scope: a step only if called from scope */
        int from_scope = called_from_scope(self, frame);
        if (from_scope <= 0) {
            result = from_scope < 0 ? -1 : START_LET_GO;
            goto done;
        }
        if (!settrace) {  /* its returns, not its lines (`_local_events_for(lines=False)`) */
            PyObject *switched = PyObject_CallFunctionObjArgs(self->set_events, code,
                                                              self->call_mask, NULL);
            if (switched == NULL)
                goto done;
            Py_DECREF(switched);
        }
    }
    result = enter_frame(self, (PyObject *)frame, code, info, key) < 0 ? -1 : START_ENTERED;
done:
    /* Only a generator in scope, let go now, may become a step: at a resumption. */
    if (result == START_LET_GO && (traced == 0 || !(((PyCodeObject *)code)->co_flags &
                                                    GENERATOR_FLAGS)))
        result = START_NEVER;
    Py_DECREF(info);
    Py_DECREF(key);
    return result;
}

/* callback(code, offset) */
static PyObject *
StartEvents_vectorcall(StartEvents *self, PyObject *const *args, size_t nargsf,
                       PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) != 2) {
        PyErr_SetString(PyExc_TypeError, "StartEvents(code, offset)");
        return NULL;
    }
    switch (start_call(self, NULL, args[0], 0)) {
    case START_PASSED:
        return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
    case START_IGNORED:
        return Py_NewRef(self->disable);
    case -1:
        if (tell_failure(self->failed) < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
StartEvents_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (recorder_parts() < 0)
        return NULL;
    PyObject *codes, *watched, *frames, *after_lines, *fallback, *request_var,
        *window_var, *bookkeeping, *disable, *set_events, *call_mask, *failed, *recorder;
    static char *names[] = {"codes", "watched", "frames", "after_lines", "fallback",
                            "recorder", "request_var", "window_var", "bookkeeping",
                            "disable", "set_events", "call_mask", "failed", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!O!OOOOOOOOO", names,
                                     &PyDict_Type, &codes, &PyDict_Type, &watched,
                                     &PyDict_Type, &frames, &PyDict_Type, &after_lines,
                                     &fallback, &recorder, &request_var, &window_var,
                                     &bookkeeping, &disable, &set_events, &call_mask,
                                     &failed))
        return NULL;
    PyObject *registration = PyObject_GetAttrString(recorder, "registration");
    PyObject *code_objects = registration ? PyObject_GetAttrString(recorder, "_codes") : NULL;
    if (code_objects == NULL || !PyDict_Check(code_objects)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "recorder._codes is not a dict");
        Py_XDECREF(registration);
        Py_XDECREF(code_objects);
        return NULL;
    }
    StartEvents *self = NULL;
    if (!PyContextVar_CheckExact(request_var) || !PyContextVar_CheckExact(window_var))
        PyErr_SetString(PyExc_TypeError, "request_var and window_var are ContextVars");
    else
        self = (StartEvents *)type->tp_alloc(type, 0);
    if (self == NULL) {
        Py_DECREF(registration);
        Py_DECREF(code_objects);
        return NULL;
    }
    self->registration = registration;
    self->code_objects = code_objects;
    self->codes = Py_NewRef(codes);
    self->watched = Py_NewRef(watched);
    self->frames = Py_NewRef(frames);
    self->after_lines = Py_NewRef(after_lines);
    self->fallback = Py_NewRef(fallback);
    self->request_var = Py_NewRef(request_var);
    self->window_var = Py_NewRef(window_var);
    self->bookkeeping = Py_NewRef(bookkeeping);
    self->disable = Py_NewRef(disable);
    self->set_events = Py_NewRef(set_events);
    self->call_mask = Py_NewRef(call_mask);
    self->failed = Py_NewRef(failed);
    self->vectorcall = (vectorcallfunc)StartEvents_vectorcall;
    return (PyObject *)self;
}

static PyTypeObject StartEventsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._linecore.StartEvents",
    .tp_doc = "StartEvents(...): the sys.monitoring PY_START callback (compiled, 3.12+).",
    .tp_basicsize = sizeof(StartEvents),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = StartEvents_new,
    .tp_dealloc = (destructor)StartEvents_dealloc,
    .tp_traverse = (traverseproc)StartEvents_traverse,
    .tp_clear = (inquiry)StartEvents_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(StartEvents, vectorcall),
};

/* -- Tracer: a C-level trace function (3.11) ---------------------------------------------
 *
 * What `sys.settrace` with the engine's Python functions does, without a Python call and
 * without copying every fast local into `f_locals` and back at each event (the
 * trampoline Python-level trace functions run behind): a call is handed to the engine
 * (`_global_trace`), which opens the step of a frame it traces; the lines of a traced
 * frame, its exceptions and its return are handled here, the return handed back to the
 * engine (`_trace_return`) to close the step. Frames without a state are ignored. */

typedef struct {
    PyObject_HEAD
    PyObject *frames;     /* id(frame) -> FrameState, the engine's own dict */
    PyObject *on_call;    /* engine._global_trace(frame, "call", None) */
    PyObject *on_return;  /* engine._trace_return(frame, state, value) */
    PyObject *failed;     /* recorder.failed(error) */
    PyObject *starts;     /* a StartEvents for the common calls, or None */
} Tracer;



static int
Tracer_traverse(Tracer *self, visitproc visit, void *arg)
{
    Py_VISIT(self->frames);
    Py_VISIT(self->on_call);
    Py_VISIT(self->on_return);
    Py_VISIT(self->failed);
    Py_VISIT(self->starts);
    return 0;
}

static int
Tracer_clear(Tracer *self)
{
    Py_CLEAR(self->frames);
    Py_CLEAR(self->on_call);
    Py_CLEAR(self->on_return);
    Py_CLEAR(self->failed);
    Py_CLEAR(self->starts);
    return 0;
}

static void
Tracer_dealloc(Tracer *self)
{
    PyObject_GC_UnTrack(self);
    Tracer_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* One event of a traced frame (not a call). */
static int
frame_event(Tracer *self, PyFrameObject *frame, int what, PyObject *arg)
{
    PyObject *key = PyLong_FromVoidPtr(frame);
    if (key == NULL)
        return -1;
    PyObject *found = PyDict_GetItemWithError(self->frames, key);
    if (found == NULL) {
        Py_DECREF(key);
        return PyErr_Occurred() ? -1 : 0;
    }
    if (!PyObject_TypeCheck(found, &FrameStateType)) {
        Py_DECREF(key);
        PyErr_SetString(PyExc_TypeError, "a frame state of the other engine");
        return -1;
    }
    FrameState *state = (FrameState *)Py_NewRef(found);
    int result = 0;
    if (what == PyTrace_LINE) {
        if (state->traced) {  /* a collapsed call's lines are not recorded */
            PyObject *line = PyLong_FromLong(PyFrame_GetLineNumber(frame));
            result = line == NULL ? -1 : new_line((PyObject *)frame, state, line);
            Py_XDECREF(line);
        }
    }
    else if (what == PyTrace_EXCEPTION) {
        /* arg: (type, value, traceback); the value, if the frame ends by it */
        if (PyTuple_Check(arg) && PyTuple_GET_SIZE(arg) >= 2)
            Py_SETREF(state->pending, Py_NewRef(PyTuple_GET_ITEM(arg, 1)));
    }
    else {  /* PyTrace_RETURN: arg is the value, NULL when an exception ends the frame */
        if (PyDict_DelItem(self->frames, key) < 0)
            result = -1;
        else if (state->pending == Py_None)  /* no exception seen: `_trace_return` returns */
            result = frame_returned((PyObject *)frame, state,
                                    arg == NULL ? Py_None : arg, NULL);
        else {
            PyObject *done = PyObject_CallFunctionObjArgs(
                self->on_return, (PyObject *)frame, (PyObject *)state,
                arg == NULL ? Py_None : arg, NULL);
            result = done == NULL ? -1 : 0;
            Py_XDECREF(done);
        }
    }
    Py_DECREF(state);
    Py_DECREF(key);
    return result;
}

/* Where a frame object keeps `f_trace_lines` (3.11), read from the member the frame type
 * itself declares at import; -1 when it is not a plain boolean member there. */
static Py_ssize_t trace_lines_offset = -1;

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
static int
find_trace_lines_offset(void)
{
    PyObject *member = PyObject_GetAttrString((PyObject *)&PyFrame_Type, "f_trace_lines");
    if (member == NULL)
        return -1;
    if (Py_IS_TYPE(member, &PyMemberDescr_Type)) {
        PyMemberDef *definition = ((PyMemberDescrObject *)member)->d_member;
        if (definition->type == T_BOOL && !(definition->flags & READONLY))
            trace_lines_offset = definition->offset;
    }
    Py_DECREF(member);
    return 0;
}
#endif

/* No more line events for a frame that will never be a step: 3.11 delivers every line of
 * every frame to a C-level trace function, which would only look each one up to find it
 * is none of ours. Its return still comes (and is looked up, and ignored). */
static void
stop_line_events(PyFrameObject *frame)
{
    if (trace_lines_offset >= 0)
        *((char *)frame + trace_lines_offset) = 0;
}

static int
Tracer_event(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    Tracer *self = (Tracer *)obj;
    int result = 0;
    Py_INCREF(self);  /* the engine may stop tracing (and drop us) from inside */
    if (what == PyTrace_CALL) {
        int started = START_PASSED;
        if (self->starts != Py_None) {
            PyCodeObject *code = PyFrame_GetCode(frame);
            started = start_call((StartEvents *)self->starts, frame, (PyObject *)code, 1);
            Py_DECREF(code);
        }
        if (started == START_PASSED) {
            PyObject *done = PyObject_CallFunctionObjArgs(self->on_call, (PyObject *)frame,
                                                          STR_CALL, Py_None, NULL);
            if (done == NULL)
                result = -1;
            Py_XDECREF(done);
        }
        else if (started == START_NEVER || started == START_IGNORED)
            stop_line_events(frame);
        else if (started < 0)
            result = -1;
    }
    else if (what == PyTrace_LINE || what == PyTrace_EXCEPTION || what == PyTrace_RETURN)
        result = frame_event(self, frame, what, arg);
    if (result < 0)
        result = tell_failure(self->failed);
    Py_DECREF(self);
    return result;
}

static Py_tracefunc trace_function = Tracer_event;

static PyObject *
Tracer_start(Tracer *self, PyObject *unused)
{
    PyEval_SetTrace(Tracer_event, (PyObject *)self);
    Py_RETURN_NONE;
}

/* Called as a Python trace function: what `sys.settrace(sys.gettrace())` installs when an
 * app saves and restores the trace function. The engine's Python one answers, as it would
 * have, had it been set in the first place. */
static PyObject *
Tracer_call(Tracer *self, PyObject *args, PyObject *kwargs)
{
    return PyObject_Call(self->on_call, args, kwargs);
}

static PyMethodDef Tracer_methods[] = {
    {"start", (PyCFunction)Tracer_start, METH_NOARGS,
     "Trace this thread (sys.gettrace() is then this object; sys.settrace(None) ends it)."},
    {NULL}
};

static PyObject *
Tracer_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *frames, *on_call, *on_return, *failed, *starts = Py_None;
    static char *names[] = {"frames", "on_call", "on_return", "failed", "starts", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!OOO|O", names, &PyDict_Type, &frames,
                                     &on_call, &on_return, &failed, &starts))
        return NULL;
    if (starts != Py_None && !PyObject_TypeCheck(starts, &StartEventsType)) {
        PyErr_SetString(PyExc_TypeError, "starts is a StartEvents or None");
        return NULL;
    }
    Tracer *self = (Tracer *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->frames = Py_NewRef(frames);
    self->on_call = Py_NewRef(on_call);
    self->on_return = Py_NewRef(on_return);
    self->failed = Py_NewRef(failed);
    self->starts = Py_NewRef(starts);
    return (PyObject *)self;
}

static PyTypeObject TracerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._linecore.Tracer",
    .tp_doc = "Tracer(frames, on_call, on_return, failed, starts=None): a C-level trace "
              "function (3.11).",
    .tp_basicsize = sizeof(Tracer),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = Tracer_new,
    .tp_dealloc = (destructor)Tracer_dealloc,
    .tp_traverse = (traverseproc)Tracer_traverse,
    .tp_clear = (inquiry)Tracer_clear,
    .tp_methods = Tracer_methods,
    .tp_call = (ternaryfunc)Tracer_call,
};

static PyObject *
out_of_sight_function(PyObject *module, PyObject *container)
{
    out_of_sight(container);  /* PyObject_GC_IsTracked is false for any other object */
    Py_RETURN_NONE;
}

/* Whether a list or dict holds something the collector tracks: only then can it be part
 * of a cycle, and only then is it tracked again (one of numbers and strings stays out of
 * sight, as the collector itself leaves such a dict). A set is tracked again always. */
static int
holds_tracked(PyObject *container)
{
    if (PyList_CheckExact(container)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(container); i++)
            if (PyObject_GC_IsTracked(PyList_GET_ITEM(container, i)))
                return 1;
        return 0;
    }
    if (PyDict_CheckExact(container)) {
        Py_ssize_t position = 0;
        PyObject *key, *value;
        while (PyDict_Next(container, &position, &key, &value))
            if (PyObject_GC_IsTracked(key) || PyObject_GC_IsTracked(value))
                return 1;
        return 0;
    }
    return 1;
}

static void
back_in_sight(PyObject *container)
{
    if (!PyObject_GC_IsTracked(container) && holds_tracked(container))
        PyObject_GC_Track(container);
}

/* `track_kept(raw)`: a record's raw details (`StepRecord.raw`) and the copies they hold
 * back in the collector's sight (see `out_of_sight`): the copies first, so a detail
 * holding one is seen to hold something tracked. */
static PyObject *
track_kept_function(PyObject *module, PyObject *raw)
{
    if (!PyDict_Check(raw)) {
        PyErr_SetString(PyExc_TypeError, "track_kept() takes a record's raw details (a dict)");
        return NULL;
    }
    Py_ssize_t position = 0;
    PyObject *step_id, *detail;
    while (PyDict_Next(raw, &position, &step_id, &detail)) {
        if (!PyDict_CheckExact(detail))
            continue;
        /* `back_in_sight` for each kept container, then for the detail, in one pass */
        Py_ssize_t inner = 0;
        PyObject *name, *value;
        int holds_tracked = 0;
        while (PyDict_Next(detail, &inner, &name, &value)) {
            PyTypeObject *kind = Py_TYPE(value);
            if (kind == &PyList_Type || kind == &PyDict_Type || kind == &PySet_Type)
                back_in_sight(value);
            holds_tracked = holds_tracked || PyObject_GC_IsTracked(name) ||
                            PyObject_GC_IsTracked(value);
        }
        if (holds_tracked && !PyObject_GC_IsTracked(detail))
            PyObject_GC_Track(detail);
    }
    Py_RETURN_NONE;
}

/* -- the module -------------------------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"line", (PyCFunction)(void (*)(void))line_function, METH_FASTCALL,
     "line(frame, state, line): settle the previous line's locals, add this line's step."},
    {"settle", (PyCFunction)(void (*)(void))settle_function, METH_FASTCALL,
     "settle(frame, state): attach to the previous line step the locals it changed."},
    {"kept", kept_function, METH_O,
     "kept(value): `tracer.values.kept`: lists, dicts and sets copied, a bytearray as bytes."},
    {"returned", returned_function, METH_O,
     "returned(value): the raw detail of a frame's return step, {'result': kept value}."},
    {"out_of_sight", out_of_sight_function, METH_O,
     "out_of_sight(container): kept out of the collector's sight while recorded."},
    {"track_kept", track_kept_function, METH_O,
     "track_kept(raw): a record's raw details and their copies seen by the collector again."},
    {"fingerprint", fingerprint_function, METH_O,
     "fingerprint(value): what changes when a small container changes in place."},
    {NULL}
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "tracer._linecore",
    "The per-line work of line tracing, compiled (see tracer/lines.py).", -1, methods,
};

static PyObject *
intern(const char *text)
{
    return PyUnicode_InternFromString(text);
}

PyMODINIT_FUNC
PyInit__linecore(void)
{
    if (PyType_Ready(&StepLogType) < 0 ||
        PyType_Ready(&FrameStateType) < 0 || PyType_Ready(&LineEventsType) < 0 ||
        PyType_Ready(&ReturnEventsType) < 0 || PyType_Ready(&StartEventsType) < 0 ||
        PyType_Ready(&TracerType) < 0)
        return NULL;
    NO_NAMES = PyDict_New();
    if (NO_NAMES == NULL ||
        !(STR_F_LOCALS = intern("f_locals")) || !(STR_TRACED = intern("traced")) ||
        !(STR_TOUCHED = intern("touched")) || !(STR_STEPS = intern("steps")) ||
        !(STR_IDS = intern("ids")) || !(STR_MAX_STEPS = intern("max_steps")) ||
        !(STR_RAW = intern("raw")) || !(STR_DROP = intern("drop")) ||
        !(STR_CALL = intern("call")) || !(STR_RESULT = intern("result")) ||
        !(STR_RETURN = intern("return")) || !(STR_IGNORED = intern("ignored")) ||
        !(STR_ARGUMENTS = intern("arguments")) || !(STR_MUTED = intern("muted")) ||
        !(STR_SELF = intern("self")) || !(STR_TRANSPARENT = intern("transparent")) ||
        !(STR_LOGGED = intern("logged")) || !(STR_CLS = intern("cls")) ||
        !(STR_REVISION = intern("revision")) || !(ONE = PyLong_FromLong(1)))
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "StepLog", (PyObject *)&StepLogType) < 0 ||
        PyModule_AddObjectRef(module, "FrameState", (PyObject *)&FrameStateType) < 0 ||
        PyModule_AddObjectRef(module, "LineEvents", (PyObject *)&LineEventsType) < 0 ||
        PyModule_AddObjectRef(module, "ReturnEvents", (PyObject *)&ReturnEventsType) < 0 ||
        PyModule_AddObjectRef(module, "StartEvents", (PyObject *)&StartEventsType) < 0 ||
        PyModule_AddObjectRef(module, "Tracer", (PyObject *)&TracerType) < 0 ||
        PyModule_AddIntConstant(module, "INTERFACE", INTERFACE) < 0) {
        Py_DECREF(module);
        return NULL;
    }
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
    fast_locals_known = fast_locals_layout_holds();
    if (fast_locals_known < 0 || find_trace_lines_offset() < 0 ||
        PyModule_AddIntConstant(module, "FAST_LOCALS_READ_DIRECTLY", fast_locals_known) < 0) {
        Py_DECREF(module);
        return NULL;
    }
#endif
    /* The C trace function, for the step core to tell this tracer from anyone else's
     * (`tracer/_stepcore.c`, pause_tracing). */
    PyObject *capsule = PyCapsule_New(&trace_function, TRACE_FUNCTION_CAPSULE, NULL);
    if (capsule == NULL || PyModule_AddObjectRef(module, "TRACE_FUNCTION", capsule) < 0) {
        Py_XDECREF(capsule);
        Py_DECREF(module);
        return NULL;
    }
    Py_DECREF(capsule);
    return module;
}
