/* The recorder's per-step bookkeeping, compiled: what `Recorder.call`, `Recorder.leave` and
 * `Recorder.ran_line` do at every hooked call, with the same data, so that a trace is the
 * same whichever records it (`tests/tracer/test_engines_agree.py`).
 *
 * `Steps(recorder, ...)` is built once per recorder; its `call`, `leave` and `ran_line`
 * then stand in for the recorder's methods of those names. `Hook(...)` is what a hooked
 * function is replaced by (`AdapterHooks.traced`). `Catcher(...)` is the trace
 * function that catches watched calls on 3.11 (`tracer.watch`). A step is a row in
 * `StepRecord.steps` as `StepRecord.add` stores it: (id, parent, kind, name, file, line,
 * time, thread, role), with detail and facts beside it, ids from the record's counter,
 * time stamps from the clock `time.perf_counter_ns` reads (CLOCK_MONOTONIC). What is rare
 * or needs the bounded repr (a value other than None, a boolean or a number; an
 * exception's line) is handed back to the recorder's Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <frameobject.h>
#include <time.h>

#include "_corecommon.h"

/* What `tracer/engine.py` expects of this core (its `STEPS_INTERFACE`). */
#define INTERFACE 9
/* `saferepr._MAX_TEXT`: a longer repr is cut, which the Python path does. */
#define MAX_TEXT 200

static PyObject *STR_STEPS, *STR_IDS, *STR_MAX_STEPS, *STR_DETAILS, *STR_FACTS, *STR_DROP,
    *STR_REGISTRATION, *STR_CODES, *STR_CALL, *STR_RETURN, *STR_EXCEPTION, *STR_RESULT,
    *STR_QUESTION, *STR_MUTED, *STR_LAST_RAN, *STR_LOGGED, *STR_NONE, *STR_TRUE,
    *STR_FALSE, *STR_REPR, *KW_DETAIL, *KW_NAME, *KW_ROLE, *KW_FACTS, *KW_RESULT, *KW_ERROR, *KW_LINE;

/* `recorder.bookkeeping`: how deep the running thread is in the recorder's bookkeeping,
 * as `recorder._Depth` (a `threading.local`) keeps it, in a C thread-local instead: the
 * guard and every hooked call read and change it, and a `threading.local` attribute cost
 * more than anything else they did (4 % of a hook-mode request). Every `Depth` shares the
 * one count of its thread; bookkeeping never awaits or switches greenlets. */
static _Thread_local long muted_depth = 0;

typedef struct {
    PyObject_HEAD
} Depth;

static PyTypeObject DepthType;

static PyObject *
Depth_get_muted(PyObject *self, void *unused)
{
    return PyLong_FromLong(muted_depth);
}

static int
Depth_set_muted(PyObject *self, PyObject *value, void *unused)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "muted cannot be deleted");
        return -1;
    }
    long depth = PyLong_AsLong(value);
    if (depth == -1 && PyErr_Occurred())
        return -1;
    muted_depth = depth;
    return 0;
}

static PyGetSetDef Depth_getset[] = {
    {"muted", Depth_get_muted, (setter)Depth_set_muted,
     "How deep this thread is in the recorder's bookkeeping (0: the app's own code).", NULL},
    {NULL}
};

static PyTypeObject DepthType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._stepcore.Depth",
    .tp_doc = "Depth(): `recorder._Depth`, its count in a C thread-local.",
    .tp_basicsize = sizeof(Depth),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_getset = Depth_getset,
};

/* `owner.muted` as a truth value: 1, 0, or -1 on error. */
static int
is_muted(PyObject *owner, PyObject *name)
{
    if (Py_IS_TYPE(owner, &DepthType))
        return muted_depth != 0;
    PyObject *value = PyObject_GetAttr(owner, name);
    int truth = value ? PyObject_IsTrue(value) : -1;
    Py_XDECREF(value);
    return truth;
}

typedef struct {
    PyObject_HEAD
    PyObject *recorder;     /* the Recorder: `registration`, `_codes`, `repr` */
    PyObject *request_var;  /* recorder._record: the request record of this context */
    PyObject *stack_var;    /* recorder._stack: this context's open call steps */
    PyObject *roles;        /* recorder._PLAIN_ROLES: Role -> its plain string */
    PyObject *collectable;  /* recorder._collectable(facts) */
    PyObject *raising_line; /* recorder._raising_line(error, file, first line, name) */
    PyObject *bookkeeping;  /* recorder.bookkeeping (its `muted`) */
} Steps;


/* `_record.get() or recorder.registration`: a new reference. */
static PyObject *
current_record(Steps *self)
{
    PyObject *record;
    if (PyContextVar_Get(self->request_var, Py_None, &record) < 0)
        return NULL;
    if (record != Py_None)
        return record;
    Py_DECREF(record);
    return PyObject_GetAttr(self->recorder, STR_REGISTRATION);
}

/* The context's step stack (a new reference; an empty tuple when unset). */
static PyObject *
current_stack(Steps *self)
{
    PyObject *stack;
    if (PyContextVar_Get(self->stack_var, NULL, &stack) < 0)
        return NULL;
    if (stack == NULL || !PyTuple_Check(stack)) {
        Py_XDECREF(stack);
        return PyTuple_New(0);
    }
    return stack;
}

static int
set_stack(Steps *self, PyObject *stack)
{
    PyObject *token = PyContextVar_Set(self->stack_var, stack);
    Py_XDECREF(token);
    return token == NULL ? -1 : 0;
}

/* Whether a mapping given as detail or facts is worth storing (`if detail:`). */
static int
truthy(PyObject *value)
{
    if (value == NULL || value == Py_None)
        return 0;
    if (PyDict_CheckExact(value))
        return PyDict_GET_SIZE(value) > 0;
    return PyObject_IsTrue(value);
}

/* Facts as `_collectable` keeps them: a dict with no list among its values as it is. */
static PyObject *
collectable(Steps *self, PyObject *facts)
{
    if (PyDict_CheckExact(facts)) {
        Py_ssize_t position = 0;
        PyObject *key, *value;
        int lists = 0;
        while (!lists && PyDict_Next(facts, &position, &key, &value))
            lists = PyList_CheckExact(value);
        if (!lists)
            return Py_NewRef(facts);
    }
    return PyObject_CallOneArg(self->collectable, facts);
}

/* `StepRecord.add`: the new step's id, None past the cap (counted by `record.drop()`). */
static PyObject *
add_step(Steps *self, PyObject *record, PyObject *parent, PyObject *kind, PyObject *name,
         PyObject *file, PyObject *line, PyObject *detail, PyObject *role, PyObject *facts)
{
    static SlotCache ids_slot, max_slot, details_slot, facts_slot, steps_slot;
    PyObject *ids = slot_get(record, STR_IDS, &ids_slot);
    PyObject *step_id = ids ? PyIter_Next(ids) : NULL;
    Py_XDECREF(ids);
    if (step_id == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "the step ids ran out");
        return NULL;
    }
    PyObject *max_steps = slot_get(record, STR_MAX_STEPS, &max_slot);
    int past = max_steps ? PyObject_RichCompareBool(step_id, max_steps, Py_GE) : -1;
    Py_XDECREF(max_steps);
    if (past != 0) {
        Py_DECREF(step_id);
        if (past < 0)
            return NULL;
        PyObject *dropped = PyObject_CallMethodNoArgs(record, STR_DROP);
        if (dropped == NULL)
            return NULL;
        Py_DECREF(dropped);
        Py_RETURN_NONE;
    }
    PyObject *steps = NULL, *row = NULL, *time = NULL, *thread = NULL, *plain_role = NULL;
    int wanted = truthy(detail);
    if (wanted < 0)
        goto failed;
    if (wanted) {
        PyObject *details = slot_get(record, STR_DETAILS, &details_slot);
        int stored = details ? PyObject_SetItem(details, step_id, detail) : -1;
        Py_XDECREF(details);
        if (stored < 0)
            goto failed;
    }
    wanted = truthy(facts);
    if (wanted < 0)
        goto failed;
    if (wanted) {
        PyObject *kept = collectable(self, facts);
        PyObject *all = kept ? slot_get(record, STR_FACTS, &facts_slot) : NULL;
        int stored = all ? PyObject_SetItem(all, step_id, kept) : -1;
        Py_XDECREF(all);
        Py_XDECREF(kept);
        if (stored < 0)
            goto failed;
    }
    plain_role = PyDict_GetItemWithError(self->roles, role);  /* borrowed */
    if (plain_role == NULL && PyErr_Occurred())
        goto failed;
    plain_role = plain_role == NULL ? role : plain_role;
    time = now_ns();
    thread = time ? PyLong_FromUnsignedLong(PyThread_get_thread_ident()) : NULL;
    row = thread ? untracked_row(PyTuple_Pack(9, step_id, parent, kind, name, file, line,
                                              time, thread, plain_role)) : NULL;
    /* The row last: `rows()` reading on another thread sees a step whole or not at all. */
    steps = row ? slot_get(record, STR_STEPS, &steps_slot) : NULL;
    if (steps == NULL || PyObject_SetItem(steps, step_id, row) < 0)
        goto failed;
    Py_DECREF(steps);
    Py_DECREF(row);
    Py_DECREF(time);
    Py_DECREF(thread);
    return step_id;
failed:
    Py_XDECREF(steps);
    Py_XDECREF(row);
    Py_XDECREF(time);
    Py_XDECREF(thread);
    Py_DECREF(step_id);
    return NULL;
}


/* Keyword arguments of a fast call, by interned name: values[i] for names[i]. */
static int
parse_keywords(PyObject *const *args, Py_ssize_t given, PyObject *kwnames, PyObject **names,
               PyObject **values, Py_ssize_t count, const char *function)
{
    if (kwnames == NULL)
        return 0;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(kwnames); k++) {
        PyObject *keyword = PyTuple_GET_ITEM(kwnames, k);
        Py_ssize_t found = -1;
        for (Py_ssize_t i = 0; i < count && found < 0; i++) {
            if (keyword == names[i])
                found = i;
        }
        for (Py_ssize_t i = 0; i < count && found < 0; i++) {
            if (PyUnicode_Compare(keyword, names[i]) == 0)
                found = i;
        }
        if (found < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R",
                         function, keyword);
            return -1;
        }
        values[found] = args[given + k];
    }
    return 0;
}

/* call(code, detail=None, *, name=None, role=None, facts=None): `Recorder.call`. */
static PyObject *
Steps_call(Steps *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t given = PyVectorcall_NARGS(nargsf);
    PyObject *names[] = {KW_DETAIL, KW_NAME, KW_ROLE, KW_FACTS};
    PyObject *values[] = {Py_None, Py_None, Py_None, Py_None};
    if (given < 1 || given > 2) {
        PyErr_SetString(PyExc_TypeError, "call(code, detail=None, *, name, role, facts)");
        return NULL;
    }
    if (given == 2)
        values[0] = args[1];
    if (parse_keywords(args, given, kwnames, names, values, 4, "call") < 0)
        return NULL;
    PyObject *code = args[0], *detail = values[0], *name = values[1], *role = values[2],
             *facts = values[3];
    PyObject *file = Py_None, *line = Py_None, *owned_line = NULL;
    int named = PyObject_IsTrue(name);  /* `name or code.co_qualname` */
    if (named < 0)
        return NULL;
    if (code != Py_None) {
        if (!PyCode_Check(code)) {
            PyErr_SetString(PyExc_TypeError, "call(code): a code object or None");
            return NULL;
        }
        PyObject *codes = PyObject_GetAttr(self->recorder, STR_CODES);
        PyObject *key = codes ? PyLong_FromVoidPtr(code) : NULL;
        int kept = key ? PyObject_SetItem(codes, key, code) : -1;
        Py_XDECREF(codes);
        Py_XDECREF(key);
        if (kept < 0)
            return NULL;
        PyCodeObject *co = (PyCodeObject *)code;
        if (!named)
            name = co->co_qualname;
        file = co->co_filename;
        owned_line = PyLong_FromLong(co->co_firstlineno);
        if (owned_line == NULL)
            return NULL;
        line = owned_line;
    }
    else if (!named)
        name = STR_QUESTION;
    PyObject *record = current_record(self);
    PyObject *stack = record ? current_stack(self) : NULL;
    PyObject *step_id = NULL;
    if (stack != NULL) {
        Py_ssize_t depth = PyTuple_GET_SIZE(stack);
        PyObject *parent = depth ? PyTuple_GET_ITEM(stack, depth - 1) : Py_None;
        step_id = add_step(self, record, parent, STR_CALL, name, file, line, detail, role,
                           facts);
        if (step_id != NULL && step_id != Py_None) {
            PyObject *grown = PyTuple_New(depth + 1);
            if (grown != NULL) {
                for (Py_ssize_t i = 0; i < depth; i++)
                    PyTuple_SET_ITEM(grown, i, Py_NewRef(PyTuple_GET_ITEM(stack, i)));
                PyTuple_SET_ITEM(grown, depth, Py_NewRef(step_id));
            }
            if (grown == NULL || set_stack(self, grown) < 0)
                Py_CLEAR(step_id);
            Py_XDECREF(grown);
        }
    }
    Py_XDECREF(stack);
    Py_XDECREF(record);
    Py_XDECREF(owned_line);
    return step_id;
}

/* The stored form of a return value: None, a boolean or a number written here as `repr`
 * writes it (what `safe_repr` gives them); anything else by the recorder's `repr`. */
static PyObject *
result_text(Steps *self, PyObject *value)
{
    if (value == Py_None)
        return Py_NewRef(STR_NONE);
    if (value == Py_True)
        return Py_NewRef(STR_TRUE);
    if (value == Py_False)
        return Py_NewRef(STR_FALSE);
    if (PyFloat_CheckExact(value) ||
        (PyLong_CheckExact(value) && PyLong_AsLongLong(value) != -1)) {
        PyObject *text = PyObject_Repr(value);
        if (text != NULL && PyUnicode_GET_LENGTH(text) <= MAX_TEXT)
            return text;
        Py_XDECREF(text);
    }
    PyErr_Clear();  /* an int too big for a long long: the Python path decides */
    return PyObject_CallMethodOneArg(self->recorder, STR_REPR, value);
}

static PyObject *
one_entry(PyObject *key, PyObject *value)
{
    if (value == NULL)
        return NULL;
    PyObject *detail = PyDict_New();
    if (detail != NULL && PyDict_SetItem(detail, key, value) < 0)
        Py_CLEAR(detail);
    Py_DECREF(value);
    return detail;
}

/* leave(step_id, *, result=None, error=None, line=None, facts=None): `Recorder.leave`. */
static PyObject *
Steps_leave(Steps *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t given = PyVectorcall_NARGS(nargsf);
    PyObject *names[] = {KW_RESULT, KW_ERROR, KW_LINE, KW_FACTS};
    PyObject *values[] = {Py_None, Py_None, Py_None, Py_None};
    if (given != 1) {
        PyErr_SetString(PyExc_TypeError, "leave(step_id, *, result, error, line, facts)");
        return NULL;
    }
    if (parse_keywords(args, given, kwnames, names, values, 4, "leave") < 0)
        return NULL;
    PyObject *step_id = args[0], *result = values[0], *error = values[1], *line = values[2],
             *facts = values[3];
    if (step_id == Py_None)
        Py_RETURN_NONE;
    PyObject *record = current_record(self);
    if (record == NULL)
        return NULL;
    PyObject *steps = NULL, *call = NULL, *detail = NULL, *owned_line = NULL, *added = NULL;
    static SlotCache steps_slot;
    if (close_step_on(self->stack_var, step_id) < 0)
        goto done;
    steps = slot_get(record, STR_STEPS, &steps_slot);
    call = steps ? PyObject_GetItem(steps, step_id) : NULL;
    if (call == NULL)
        goto done;
    if (!PyTuple_Check(call) || PyTuple_GET_SIZE(call) < 9) {
        PyErr_SetString(PyExc_TypeError, "leave(step_id): not a call step");
        goto done;
    }
    PyObject *name = PyTuple_GET_ITEM(call, 3), *file = PyTuple_GET_ITEM(call, 4);
    PyObject *kind;
    if (error == Py_None) {
        kind = STR_RETURN;
        detail = one_entry(STR_RESULT, result_text(self, result));
    }
    else {
        if (line == Py_None) {
            owned_line = PyObject_CallFunctionObjArgs(self->raising_line, error, file,
                                                      PyTuple_GET_ITEM(call, 5), name, NULL);
            if (owned_line == NULL)
                goto done;
            line = owned_line;
        }
        kind = STR_EXCEPTION;
        detail = one_entry(STR_EXCEPTION,
                           PyObject_CallMethodOneArg(self->recorder, STR_REPR, error));
    }
    if (detail == NULL)
        goto done;
    added = add_step(self, record, step_id, kind, name, file, line, detail,
                     PyTuple_GET_ITEM(call, 8), facts);
done:
    Py_XDECREF(steps);
    Py_XDECREF(call);
    Py_XDECREF(detail);
    Py_XDECREF(owned_line);
    Py_DECREF(record);
    if (added == NULL)
        return NULL;
    Py_DECREF(added);
    Py_RETURN_NONE;
}

/* `StepRecord.size()`: the rows in `steps` and the steps in the record's step log
 * (`tracer/_linecore.c`, StepLog); -1 with an error set. */
static Py_ssize_t
stored_steps(PyObject *record, PyObject *steps)
{
    static SlotCache logged_slot;
    PyObject *log = slot_get(record, STR_LOGGED, &logged_slot);
    if (log == NULL)
        return -1;
    Py_ssize_t logged = PyObject_Length(log);
    Py_DECREF(log);
    return logged < 0 ? -1 : PyDict_GET_SIZE(steps) + logged;
}

/* ran_line(code, line): `Recorder.ran_line`, a quotable line of a hooked function ran. */
/* `StepRecord.add_line(parent, line)`: a line step's short row (parent, line, time);
 * 0, or -1 on error. Past the cap it is only counted, as `add_line` does. */
static int
add_line_step(PyObject *record, PyObject *steps, PyObject *parent, PyObject *line)
{
    static SlotCache ids_slot, max_slot;
    PyObject *ids = slot_get(record, STR_IDS, &ids_slot);
    PyObject *step_id = ids ? PyIter_Next(ids) : NULL;
    Py_XDECREF(ids);
    if (step_id == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "the step ids ran out");
        return -1;
    }
    PyObject *max_steps = slot_get(record, STR_MAX_STEPS, &max_slot);
    int past = max_steps ? PyObject_RichCompareBool(step_id, max_steps, Py_GE) : -1;
    Py_XDECREF(max_steps);
    if (past != 0) {
        Py_DECREF(step_id);
        if (past < 0)
            return -1;
        PyObject *dropped = PyObject_CallMethodNoArgs(record, STR_DROP);
        Py_XDECREF(dropped);
        return dropped == NULL ? -1 : 0;
    }
    PyObject *time = now_ns();
    PyObject *row = time ? untracked_row(PyTuple_Pack(3, parent, line, time)) : NULL;
    int stored = row ? PyObject_SetItem(steps, step_id, row) : -1;
    Py_XDECREF(row);
    Py_XDECREF(time);
    Py_DECREF(step_id);
    return stored;
}

static PyObject *
Steps_ran_line(Steps *self, PyObject *const *args, Py_ssize_t given)
{
    if (given != 2 || !PyCode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "ran_line(code, line)");
        return NULL;
    }
    PyCodeObject *code = (PyCodeObject *)args[0];
    PyObject *line = args[1];
    PyObject *stack = current_stack(self);
    if (stack == NULL)
        return NULL;
    PyObject *record = NULL, *steps = NULL, *last = NULL, *now = NULL;
    PyObject *result = NULL;
    Py_ssize_t depth = PyTuple_GET_SIZE(stack);
    if (depth == 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    int muted = is_muted(self->bookkeeping, STR_MUTED);
    if (muted != 0) {
        result = muted < 0 ? NULL : Py_NewRef(Py_None);
        goto done;
    }
    PyObject *parent = PyTuple_GET_ITEM(stack, depth - 1);
    record = current_record(self);
    static SlotCache steps_slot;
    steps = record ? slot_get(record, STR_STEPS, &steps_slot) : NULL;
    if (steps == NULL)
        goto done;
    PyObject *top = PyDict_CheckExact(steps) ? PyDict_GetItemWithError(steps, parent) : NULL;
    if (top == NULL && PyErr_Occurred())
        goto done;
    if (top == NULL || !PyTuple_Check(top) || PyTuple_GET_SIZE(top) < 9 ||
        !PyLong_CheckExact(PyTuple_GET_ITEM(top, 5)) ||
        PyLong_AsLong(PyTuple_GET_ITEM(top, 5)) != code->co_firstlineno ||
        PyObject_RichCompareBool(PyTuple_GET_ITEM(top, 4), code->co_filename, Py_EQ) != 1 ||
        PyObject_RichCompareBool(PyTuple_GET_ITEM(top, 3), code->co_qualname, Py_EQ) != 1) {
        if (PyErr_Occurred())
            goto done;
        result = Py_NewRef(Py_None);
        goto done;
    }
    Py_ssize_t stored = stored_steps(record, steps);
    if (stored < 0)
        goto done;
    now = Py_BuildValue("(OOn)", parent, line, stored);
    last = now ? PyObject_GetAttr(record, STR_LAST_RAN) : NULL;
    if (last == NULL)
        goto done;
    int same = PyObject_RichCompareBool(last, now, Py_EQ);
    if (same != 0) {
        result = same < 0 ? NULL : Py_NewRef(Py_None);
        goto done;
    }
    if (add_line_step(record, steps, parent, line) < 0)
        goto done;
    stored = stored_steps(record, steps);
    if (stored < 0)
        goto done;
    Py_SETREF(now, untracked_row(Py_BuildValue("(OOn)", parent, line, stored)));
    if (now == NULL || PyObject_SetAttr(record, STR_LAST_RAN, now) < 0)
        goto done;
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(now);
    Py_XDECREF(last);
    Py_XDECREF(steps);
    Py_XDECREF(record);
    Py_DECREF(stack);
    return result;
}

static int
Steps_traverse(Steps *self, visitproc visit, void *arg)
{
    Py_VISIT(self->recorder);
    Py_VISIT(self->request_var);
    Py_VISIT(self->stack_var);
    Py_VISIT(self->roles);
    Py_VISIT(self->collectable);
    Py_VISIT(self->raising_line);
    Py_VISIT(self->bookkeeping);
    return 0;
}

static int
Steps_clear(Steps *self)
{
    Py_CLEAR(self->recorder);
    Py_CLEAR(self->request_var);
    Py_CLEAR(self->stack_var);
    Py_CLEAR(self->roles);
    Py_CLEAR(self->collectable);
    Py_CLEAR(self->raising_line);
    Py_CLEAR(self->bookkeeping);
    return 0;
}

static void
Steps_dealloc(Steps *self)
{
    PyObject_GC_UnTrack(self);
    Steps_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Steps_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *recorder, *request_var, *stack_var, *roles, *collectable_, *raising_line,
        *bookkeeping;
    static char *names[] = {"recorder", "request_var", "stack_var", "roles", "collectable",
                            "raising_line", "bookkeeping", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO!O!O!OOO", names, &recorder,
                                     &PyContextVar_Type, &request_var, &PyContextVar_Type,
                                     &stack_var, &PyDict_Type, &roles, &collectable_,
                                     &raising_line, &bookkeeping))
        return NULL;
    Steps *self = (Steps *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->recorder = Py_NewRef(recorder);
    self->request_var = Py_NewRef(request_var);
    self->stack_var = Py_NewRef(stack_var);
    self->roles = Py_NewRef(roles);
    self->collectable = Py_NewRef(collectable_);
    self->raising_line = Py_NewRef(raising_line);
    self->bookkeeping = Py_NewRef(bookkeeping);
    return (PyObject *)self;
}

static PyMethodDef Steps_methods[] = {
    {"call", (PyCFunction)(void (*)(void))Steps_call, METH_FASTCALL | METH_KEYWORDS,
     "call(code, detail=None, *, name=None, role=None, facts=None): Recorder.call."},
    {"leave", (PyCFunction)(void (*)(void))Steps_leave, METH_FASTCALL | METH_KEYWORDS,
     "leave(step_id, *, result=None, error=None, line=None, facts=None): Recorder.leave."},
    {"ran_line", (PyCFunction)(void (*)(void))Steps_ran_line, METH_FASTCALL,
     "ran_line(code, line): Recorder.ran_line."},
    {NULL}
};

static PyTypeObject StepsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._stepcore.Steps",
    .tp_doc = "Steps(recorder, ...): a recorder's call, leave and ran_line, compiled.",
    .tp_basicsize = sizeof(Steps),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = Steps_new,
    .tp_dealloc = (destructor)Steps_dealloc,
    .tp_traverse = (traverseproc)Steps_traverse,
    .tp_clear = (inquiry)Steps_clear,
    .tp_methods = Steps_methods,
};


/* -- Catcher: the trace function that catches watched calls (3.11) -----------------------
 *
 * What `sys.settrace(watcher._global_trace)` does while a view runs, without a Python call
 * at every call the view makes: a call is handed to `_global_trace` only when its code is
 * watched (or has watched lines) or its frame is a coroutine paused in a watched call;
 * whatever local trace function that returns is the frame's `f_trace`, and the frame's
 * later events go to it, as CPython's trampoline for Python trace functions sends them.
 * Every other call costs two dict lookups. */

typedef struct {
    PyObject_HEAD
    PyObject *watched;    /* watcher._by_id: id(code) -> Watched */
    PyObject *lines;      /* watcher._lines_wanted: id(code) -> lines */
    PyObject *suspended;  /* watcher._suspended: id(frame) -> its paused frame tracer */
    PyObject *on_call;    /* watcher._global_trace(frame, "call", None) */
    PyObject *request_var;  /* the ContextVar of the request being recorded */
    /* With both: a watched call inside a request is recorded here (`catch_watched`) */
    PyObject *recorder;     /* `call`, `failed`, `redact`; or None */
    PyObject *frame_tracer; /* frame_tracer(step id, code): the frame's local tracer */
} Catcher;

static int catch_watched(PyObject *recorder, PyObject *frame_tracer, PyObject *watched,
                         PyFrameObject *frame);
static PyObject *SAFE_VALUE;  /* given by `value_helpers`, below */

static PyObject *EVENT_NAMES[8];
static PyObject *STR_F_TRACE;

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
/* The start of 3.11's `struct _frame` (Include/internal/pycore_frame.h), fixed for the 3.11
 * series: a frame's local trace function read without an attribute lookup. Under a trace
 * function CPython reports every line of every frame, and most frames have none, so this
 * read is what most events cost. `frame_layout_holds` checks it against `f_trace` once. */
typedef struct {
    PyObject_HEAD
    PyFrameObject *f_back;
    void *f_frame;
    PyObject *f_trace;
} FrameStart311;
#define FRAME_TRACE(frame) (((FrameStart311 *)(frame))->f_trace)
static int frame_layout_known = 0;

/* Whether `FrameStart311` matches this interpreter's frames: a frame given a known local
 * trace function through the attribute must show it in the field. */
static int
frame_layout_holds(void)
{
    PyFrameObject *frame = PyEval_GetFrame();  /* the frame importing this module */
    if (frame == NULL)
        return 0;
    PyObject *before = PyObject_GetAttr((PyObject *)frame, STR_F_TRACE);
    if (before == NULL)
        return -1;
    int holds = 0;
    if (PyObject_SetAttr((PyObject *)frame, STR_F_TRACE, STR_F_TRACE) == 0) {
        holds = FRAME_TRACE(frame) == STR_F_TRACE;
        if (PyObject_SetAttr((PyObject *)frame, STR_F_TRACE, before) < 0)
            holds = -1;
    }
    else
        holds = -1;
    Py_DECREF(before);
    return holds;
}
#endif

static int
Catcher_event(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    Catcher *self = (Catcher *)obj;
    if (what < 0 || what > 7 || EVENT_NAMES[what] == NULL)
        return 0;
    PyObject *callback = NULL;
    if (what == PyTrace_CALL) {
        /* Most calls are of code nobody watches, with nothing paused: an empty dict is
         * not asked, and no key is made for it. A code only its lines are wanted of is
         * traced outside requests only (3.11 records lines at registration). */
        int wanted = 0;
        PyObject *watched = NULL;  /* borrowed */
        if (PyDict_GET_SIZE(self->watched) || PyDict_GET_SIZE(self->lines)) {
            PyCodeObject *code = PyFrame_GetCode(frame);
            PyObject *code_key = PyLong_FromVoidPtr(code);
            Py_DECREF(code);
            if (code_key == NULL)
                return -1;
            watched = PyDict_GetItemWithError(self->watched, code_key);
            wanted = watched != NULL ? 1 : PyErr_Occurred() ? -1 : 0;
            if (wanted == 0) {
                wanted = PyDict_Contains(self->lines, code_key);
                if (wanted > 0) {
                    PyObject *record;
                    if (PyContextVar_Get(self->request_var, Py_None, &record) < 0)
                        wanted = -1;
                    else {
                        wanted = record == Py_None;
                        Py_DECREF(record);
                    }
                }
            }
            Py_DECREF(code_key);
        }
        if (wanted >= 0 && PyDict_GET_SIZE(self->suspended)) {
            PyObject *frame_key = PyLong_FromVoidPtr(frame);
            if (frame_key == NULL)
                return -1;
            int resumed = PyDict_Contains(self->suspended, frame_key);
            Py_DECREF(frame_key);
            if (resumed != 0) {  /* a paused frame carrying on: Python decides */
                wanted = resumed;
                watched = NULL;
            }
        }
        if (wanted <= 0)
            return wanted;
        if (watched != NULL && self->recorder != Py_None) {
            PyObject *record;
            if (PyContextVar_Get(self->request_var, Py_None, &record) < 0)
                return -1;
            int in_request = record != Py_None;
            Py_DECREF(record);
            if (in_request) {
                Py_INCREF(self);  /* the bookkeeping may stop tracing (and drop us) */
                Py_INCREF(watched);
                int caught = catch_watched(self->recorder, self->frame_tracer, watched, frame);
                Py_DECREF(watched);
                Py_DECREF(self);
                return caught;
            }
        }
        callback = Py_NewRef(self->on_call);
    }
    else {
#ifdef FRAME_TRACE
        if (frame_layout_known) {
            callback = FRAME_TRACE(frame);
            if (callback == NULL || callback == Py_None)
                return 0;
            Py_INCREF(callback);
        }
        else
#endif
        {
            callback = PyObject_GetAttr((PyObject *)frame, STR_F_TRACE);
            if (callback == NULL)
                return -1;
            if (callback == Py_None) {
                Py_DECREF(callback);
                return 0;
            }
        }
    }
    Py_INCREF(self);  /* the callback may stop tracing (and drop us) */
    PyObject *result = PyObject_CallFunctionObjArgs(callback, (PyObject *)frame,
                                                    EVENT_NAMES[what],
                                                    arg == NULL ? Py_None : arg, NULL);
    Py_DECREF(callback);
    int failed = 0;
    if (result == NULL) {  /* as CPython's trampoline: tracing stops */
        PyEval_SetTrace(NULL, NULL);
        PyObject_SetAttr((PyObject *)frame, STR_F_TRACE, Py_None);
        failed = -1;
    }
    else {
        if (result != Py_None &&
            PyObject_SetAttr((PyObject *)frame, STR_F_TRACE, result) < 0)
            failed = -1;
        Py_DECREF(result);
    }
    Py_DECREF(self);
    return failed;
}

static PyObject *
Catcher_start(Catcher *self, PyObject *unused)
{
    PyEval_SetTrace(Catcher_event, (PyObject *)self);
    Py_RETURN_NONE;
}

/* Called as a Python trace function: what `sys.settrace(sys.gettrace())` installs when an
 * app saves and restores the trace function. The watcher's Python one answers. */
static PyObject *
Catcher_call(Catcher *self, PyObject *args, PyObject *kwargs)
{
    return PyObject_Call(self->on_call, args, kwargs);
}

static int
Catcher_traverse(Catcher *self, visitproc visit, void *arg)
{
    Py_VISIT(self->watched);
    Py_VISIT(self->lines);
    Py_VISIT(self->suspended);
    Py_VISIT(self->on_call);
    Py_VISIT(self->request_var);
    Py_VISIT(self->recorder);
    Py_VISIT(self->frame_tracer);
    return 0;
}

static int
Catcher_clear(Catcher *self)
{
    Py_CLEAR(self->watched);
    Py_CLEAR(self->lines);
    Py_CLEAR(self->suspended);
    Py_CLEAR(self->on_call);
    Py_CLEAR(self->request_var);
    Py_CLEAR(self->recorder);
    Py_CLEAR(self->frame_tracer);
    return 0;
}

static void
Catcher_dealloc(Catcher *self)
{
    PyObject_GC_UnTrack(self);
    Catcher_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Catcher_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *watched, *lines, *suspended, *on_call, *request_var;
    PyObject *recorder = Py_None, *frame_tracer = Py_None;
    static char *names[] = {"watched", "lines", "suspended", "on_call", "request_var",
                            "recorder", "frame_tracer", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!OO!|OO", names, &PyDict_Type,
                                     &watched, &PyDict_Type, &lines, &PyDict_Type, &suspended,
                                     &on_call, &PyContextVar_Type, &request_var, &recorder,
                                     &frame_tracer))
        return NULL;
    if ((recorder == Py_None) != (frame_tracer == Py_None)) {
        PyErr_SetString(PyExc_TypeError, "Catcher: recorder and frame_tracer go together");
        return NULL;
    }
    if (recorder != Py_None && SAFE_VALUE == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Catcher: value_helpers(...) was not called");
        return NULL;
    }
    Catcher *self = (Catcher *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->watched = Py_NewRef(watched);
    self->lines = Py_NewRef(lines);
    self->suspended = Py_NewRef(suspended);
    self->on_call = Py_NewRef(on_call);
    self->request_var = Py_NewRef(request_var);
    self->recorder = Py_NewRef(recorder);
    self->frame_tracer = Py_NewRef(frame_tracer);
    return (PyObject *)self;
}

static PyMethodDef Catcher_methods[] = {
    {"start", (PyCFunction)Catcher_start, METH_NOARGS,
     "Trace this thread (sys.gettrace() is then this object; sys.settrace(None) ends it)."},
    {NULL}
};

static PyTypeObject CatcherType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._stepcore.Catcher",
    .tp_doc = "Catcher(watched, lines, suspended, on_call, request_var, recorder=None, "
              "frame_tracer=None): the C-level trace function that catches watched calls "
              "(3.11).",
    .tp_basicsize = sizeof(Catcher),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = Catcher_new,
    .tp_dealloc = (destructor)Catcher_dealloc,
    .tp_traverse = (traverseproc)Catcher_traverse,
    .tp_clear = (inquiry)Catcher_clear,
    .tp_methods = Catcher_methods,
    .tp_call = (ternaryfunc)Catcher_call,
};

/* -- pausing our own tracing while the recorder's bookkeeping runs (3.11) ----------------
 *
 * While a trace function is set, 3.11 runs every frame in its tracing mode: the recorder's
 * bookkeeping inside a catching window (opening a step, reprs, notes), and all of it in
 * line mode, ran at about half speed. `pause_tracing()` switches that mode off for the
 * thread as CPython does around a trace function's own call (`PyThreadState_EnterTracing`),
 * only when the trace function is ours (the Catcher, the line core's tracer), no profile
 * function is set and no trace callback is running; `resume_tracing()` ends the outermost
 * pause. Calls nest (strictly, in try/finally): this thread's depth counts them from the
 * pause, so the ones inside a pause and the ones that paused nothing are told apart. What
 * runs paused is muted bookkeeping, which neither tracer records: no event of the app is
 * lost. */

#if PY_VERSION_HEX < 0x030C0000
static _Thread_local int pause_depth = 0;
/* The line core's trace function (`TRACE_FUNCTION_CAPSULE`), NULL when it is not built:
 * line mode's bookkeeping is paused as the Catcher's is. */
static Py_tracefunc line_tracer = NULL;

static int
ours(Py_tracefunc function)
{
    return function == Catcher_event || (function != NULL && function == line_tracer);
}
#endif

static PyObject *
pause_tracing(PyObject *module, PyObject *unused)
{
#if PY_VERSION_HEX < 0x030C0000
    if (pause_depth > 0) {
        pause_depth++;
        Py_RETURN_NONE;
    }
    PyThreadState *tstate = PyThreadState_Get();
    /* A profile function (cProfile) would miss the returns of the frames pausing. */
    if (tstate->tracing == 0 && ours(tstate->c_tracefunc) &&
            tstate->c_profilefunc == NULL) {
        PyThreadState_EnterTracing(tstate);
        pause_depth = 1;
    }
#endif
    Py_RETURN_NONE;
}

static PyObject *
resume_tracing(PyObject *module, PyObject *unused)
{
#if PY_VERSION_HEX < 0x030C0000
    if (pause_depth > 0 && --pause_depth == 0)
        PyThreadState_LeaveTracing(PyThreadState_Get());
#endif
    Py_RETURN_NONE;
}


/* -- Hook: the stand-in that replaces a hooked function ---------------------------------
 *
 * What `AdapterHooks.traced` returns (`tracer/frameworks/hooking.py`), compiled: each call
 * passes straight through when the adapter is off, the recorder's bookkeeping is running
 * or `when(args, kwargs)` says no; otherwise it opens a call step (`describe`'s facts, the
 * arguments' stored forms, the role), runs `enter`, calls the original (inside
 * `catching()` when set), then `after` or `on_error` and the step's end, and hands back
 * the result, or `returns(result)`. The adapter's callbacks stay Python; what this saves
 * is the three Python frames of the stand-in itself, and the stored forms of arguments
 * that are None, booleans or numbers, written here as `safe_value` writes them. It binds
 * as a method, as a function does, and `functools.update_wrapper` gives it the original's
 * name, docstring and `__wrapped__`. */


/* The exception being raised, taken off the thread (normalized, its traceback attached),
 * and raised again: 3.12's `PyErr_GetRaisedException`, written for 3.11 too. */
#if PY_VERSION_HEX >= 0x030C0000
#define raised_error PyErr_GetRaisedException
#define raise_again PyErr_SetRaisedException
#else
static PyObject *
raised_error(void)
{
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    if (type == NULL)
        return NULL;
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != NULL && value != NULL)
        PyException_SetTraceback(value, traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;
}

/* Steals `error`. */
static void
raise_again(PyObject *error)
{
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(error)), error,
                  PyException_GetTraceback(error));
}
#endif

/* Set once by `hook_helpers(...)`: what every stand-in shares with the Python side. */
static PyObject *BOOKKEEPING, *ENVIRON_SUMMARY;
/* Set once by `value_helpers(...)` (`tracer.saferepr`, at import): how a named value is
 * stored. */
static PyObject *SAFE_VALUE, *SECRET_NAMES, *IS_SECRET_NAME, *REDACTED;
static PyObject *STR_ACTIVE, *STR_REDACT, *STR_FAILED, *STR_LEAVE, *STR_WSGI_VERSION,
    *STR_SELF, *STR_CLS, *STR_ENTER, *STR_EXIT, *STR_QUALNAME, *KWNAMES_ROLE_FACTS,
    *KWNAMES_RESULT, *KWNAMES_ERROR, *KWNAMES_REDACT;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *dict;       /* __dict__: the original's name, docstring, __wrapped__ */
    PyObject *weakrefs;
    PyObject *original;
    PyObject *code;       /* the original's code object, or None */
    PyObject *names;      /* its positional parameters' names (a tuple) */
    PyObject *hooks;      /* the AdapterHooks: `active` */
    PyObject *recorder;   /* `call`, `leave`, `failed`, `redact` */
    PyObject *role;       /* the step's role, when `role_of` is None */
    PyObject *role_of, *describe, *after, *on_error, *when, *enter, *returns, *catching;
} Hook;

/* `owner.muted += delta` (`owner`: recorder.bookkeeping), keeping any error already
 * raised. */
static int
add_muted_to(PyObject *owner, long delta)
{
    if (Py_IS_TYPE(owner, &DepthType)) {
        muted_depth += delta;
        return 0;
    }
    PyObject *pending = raised_error();
    PyObject *muted = PyObject_GetAttr(owner, STR_MUTED);
    long depth = muted ? PyLong_AsLong(muted) : -1;
    Py_XDECREF(muted);
    int failed = depth == -1 && PyErr_Occurred();
    if (!failed) {
        PyObject *changed = PyLong_FromLong(depth + delta);
        failed = changed == NULL || PyObject_SetAttr(owner, STR_MUTED, changed) < 0;
        Py_XDECREF(changed);
    }
    if (pending != NULL) {
        PyErr_Clear();
        raise_again(pending);
        return -1;
    }
    return failed ? -1 : 0;
}

static int
add_muted(long delta)
{
    return add_muted_to(BOOKKEEPING, delta);
}

static int
truth_of(PyObject *owner, PyObject *name)
{
    PyObject *value = PyObject_GetAttr(owner, name);
    int truth = value ? PyObject_IsTrue(value) : -1;
    Py_XDECREF(value);
    return truth;
}

/* `is_secret_name(name)`, from the Python side's cache of names when it knows the name. */
static int
secret_name(PyObject *name)
{
    if (PyUnicode_CheckExact(name)) {
        PyObject *known = PyDict_GetItemWithError(SECRET_NAMES, name);  /* borrowed */
        if (known != NULL)
            return PyObject_IsTrue(known);
        if (PyErr_Occurred())
            return -1;
    }
    PyObject *answer = PyObject_CallOneArg(IS_SECRET_NAME, name);
    int secret = answer ? PyObject_IsTrue(answer) : -1;
    Py_XDECREF(answer);
    return secret;
}

/* `safe_value(name, value, redact=redact)`: None, a boolean or a number as it writes
 * them, any other value under a name that is no secret's by the core's `safe_repr`, the
 * rest by `safe_value` itself. */
static PyObject *core_safe_repr(PyObject *value, int redact);

static PyObject *
named_value(PyObject *name, PyObject *value, PyObject *redact)
{
    if (value == Py_None)
        return Py_NewRef(STR_NONE);
    int number = PyBool_Check(value) || PyFloat_CheckExact(value);
    if (!number && PyLong_CheckExact(value)) {
        int overflow;
        PyLong_AsLongLongAndOverflow(value, &overflow);
        number = !overflow && !PyErr_Occurred();
        PyErr_Clear();
    }
    if (number) {
        int secret = redact == Py_True ? secret_name(name) : 0;
        if (secret < 0)
            return NULL;
        if (secret)
            return Py_NewRef(REDACTED);
        return PyObject_Repr(value);  /* at most 24 characters: never cut */
    }
    int secret = redact == Py_True ? secret_name(name) : 0;
    if (secret < 0)
        return NULL;
    if (!secret)  /* the value as `safe_repr` writes it */
        return core_safe_repr(value, redact == Py_True);
    /* a secret-looking name: hidden unless the value shows names only (Python decides) */
    PyObject *call[] = {name, value, redact};
    return PyObject_Vectorcall(SAFE_VALUE, call, 2, KWNAMES_REDACT);
}

static PyObject *STR_LINE;  /* "line" */

/* record_rows(steps, logged, details, facts, raw, start, stop): `StepRecord.rows()`, the
 * rows from id `start` to `stop`, each step's row (or, for a logged line step, its call's
 * name, file and thread) with its detail, role, facts and raw values; up to the first id
 * with no row (a step another thread is adding right now). */
static PyObject *
record_rows(PyObject *module, PyObject *args)
{
    PyObject *steps, *logged, *details, *facts, *raw;
    Py_ssize_t start, stop;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!nn", &PyDict_Type, &steps, &PyDict_Type, &logged,
                          &PyDict_Type, &details, &PyDict_Type, &facts, &PyDict_Type, &raw,
                          &start, &stop))
        return NULL;
    /* Every row, detail and value is held while the next is made: an allocation may run
     * the collector, and a finalizer may change the record's dicts. */
    PyObject *rows = PyList_New(0);
    for (Py_ssize_t id = start; rows != NULL && id < stop; id++) {
        PyObject *key = PyLong_FromSsize_t(id);
        PyObject *row = key ? Py_XNewRef(PyDict_GetItemWithError(steps, key)) : NULL;
        if (row == NULL && key != NULL && !PyErr_Occurred())
            row = Py_XNewRef(PyDict_GetItemWithError(logged, key));
        if (row == NULL) {
            Py_XDECREF(key);
            if (key == NULL || PyErr_Occurred())
                Py_CLEAR(rows);
            break;
        }
        PyObject *made = NULL, *call = NULL, *detail = NULL, *fact = NULL, *kept = NULL;
        if (!PyTuple_Check(row))
            PyErr_SetString(PyExc_TypeError, "a step's row is a tuple");
        else if (PyTuple_GET_SIZE(row) == 3) {  /* a line step: (parent, line, time) */
            PyObject *parent = PyTuple_GET_ITEM(row, 0);
            call = Py_XNewRef(PyDict_GetItemWithError(steps, parent));
            kept = call ? Py_XNewRef(PyDict_GetItemWithError(raw, key)) : NULL;
            if (call == NULL && !PyErr_Occurred())
                PyErr_SetObject(PyExc_KeyError, parent);
            else if (call != NULL && (!PyTuple_Check(call) || PyTuple_GET_SIZE(call) < 8))
                PyErr_SetString(PyExc_IndexError, "a call's row is too short");
            else if (!PyErr_Occurred())
                made = PyTuple_Pack(12, key, parent, STR_LINE, PyTuple_GET_ITEM(call, 3),
                                    PyTuple_GET_ITEM(call, 4), PyTuple_GET_ITEM(row, 1),
                                    PyTuple_GET_ITEM(row, 2), PyTuple_GET_ITEM(call, 7),
                                    Py_None, Py_None, Py_None, kept ? kept : Py_None);
        }
        else if (PyTuple_GET_SIZE(row) < 9)
            PyErr_SetString(PyExc_IndexError, "a step's row is too short");
        else {
            detail = Py_XNewRef(PyDict_GetItemWithError(details, key));
            if (!PyErr_Occurred())
                fact = Py_XNewRef(PyDict_GetItemWithError(facts, key));
            if (!PyErr_Occurred())
                kept = Py_XNewRef(PyDict_GetItemWithError(raw, key));
            if (!PyErr_Occurred())
                made = PyTuple_New(12);
            for (Py_ssize_t i = 0; made && i < 8; i++)
                PyTuple_SET_ITEM(made, i, Py_NewRef(PyTuple_GET_ITEM(row, i)));
            if (made) {
                PyTuple_SET_ITEM(made, 8, Py_NewRef(detail ? detail : Py_None));
                PyTuple_SET_ITEM(made, 9, Py_NewRef(PyTuple_GET_ITEM(row, 8)));
                PyTuple_SET_ITEM(made, 10, Py_NewRef(fact ? fact : Py_None));
                PyTuple_SET_ITEM(made, 11, Py_NewRef(kept ? kept : Py_None));
            }
        }
        Py_XDECREF(call);
        Py_XDECREF(detail);
        Py_XDECREF(fact);
        Py_XDECREF(kept);
        Py_DECREF(row);
        Py_DECREF(key);
        if (made == NULL || PyList_Append(rows, made) < 0)
            Py_CLEAR(rows);
        Py_XDECREF(made);
    }
    return rows;
}

/* named(values, redact): `Recorder.named`, `{name: safe_value(name, value, redact)}`. */
static PyObject *
named_function(PyObject *module, PyObject *args)
{
    PyObject *values, *redact;
    if (!PyArg_ParseTuple(args, "OO", &values, &redact))
        return NULL;
    if (SAFE_VALUE == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "value_helpers() was not called");
        return NULL;
    }
    redact = PyObject_IsTrue(redact) ? Py_True : Py_False;
    PyObject *items = PyMapping_Items(values);
    PyObject *named = items ? PyDict_New() : NULL;
    for (Py_ssize_t i = 0; named && i < PyList_GET_SIZE(items); i++) {
        PyObject *pair = PyList_GET_ITEM(items, i);
        PyObject *text = named_value(PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1),
                                     redact);
        if (text == NULL || PyDict_SetItem(named, PyTuple_GET_ITEM(pair, 0), text) < 0)
            Py_CLEAR(named);
        Py_XDECREF(text);
    }
    Py_XDECREF(items);
    return named;
}

/* `_stored_argument(name, value, redact)`: a WSGI environ by its summary, anything else
 * as `safe_value` writes it. */
static PyObject *
stored_argument(PyObject *name, PyObject *value, PyObject *redact)
{
    if (PyDict_CheckExact(value)) {
        int environ = PyDict_Contains(value, STR_WSGI_VERSION);
        if (environ < 0)
            return NULL;
        if (environ)
            return PyObject_CallOneArg(ENVIRON_SUMMARY, value);
    }
    return named_value(name, value, redact);
}

/* After an error in the bookkeeping: an `Exception` is counted by `recorder.failed` and
 * cleared (0); anything else (KeyboardInterrupt, SystemExit) stays raised (-1), as the
 * Python side's `except Exception` lets it through. */
static int
counted_by(PyObject *recorder)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception))
        return -1;
    PyObject *failure = raised_error();
    PyObject *counted = PyObject_CallMethodOneArg(recorder, STR_FAILED, failure);
    Py_DECREF(failure);
    if (counted == NULL)
        return -1;
    Py_DECREF(counted);
    return 0;
}

/* -- a watched call's step ----------------------------------------------------------------
 *
 * What `CodeWatcher` records when a watched code object (a decorator layer, the function a
 * view class is wrapped in, a view-class method) starts inside a recorded request: the
 * watched `before(frame)`, then a call step with the arguments as `recorder.named` stores
 * them and the watched `facts(frame)`. `CallWatch` (3.12+) and the `Catcher` (3.11) open
 * it here. */

static PyObject *STR_BEFORE, *STR_F_LOCALS, *STR_F_TRACE_LINES;

/* `recorder.named(argument_values(frame))`: the parameters (positional, keyword-only,
 * *args, **kwargs) but `self`, each as `safe_value` writes it. */
static PyObject *
watched_arguments(PyObject *recorder, PyFrameObject *frame, PyCodeObject *code)
{
    PyObject *redact_value = PyObject_GetAttr(recorder, STR_REDACT);
    int redacting = redact_value ? PyObject_IsTrue(redact_value) : -1;
    Py_XDECREF(redact_value);
    if (redacting < 0)
        return NULL;
    PyObject *names = PyCode_GetVarnames(code);
#if PY_VERSION_HEX < 0x030C0000
    /* 3.11: `frame.f_locals`, as the Python side reads them */
    PyObject *values = names ? PyObject_GetAttr((PyObject *)frame, STR_F_LOCALS) : NULL;
    PyObject *stored = values ? PyDict_New() : NULL;
#else
    PyObject *stored = names ? PyDict_New() : NULL;
#endif
    if (stored == NULL)
        goto failed;
    Py_ssize_t count = code->co_argcount + code->co_kwonlyargcount +
                       ((code->co_flags & CO_VARARGS) != 0) +
                       ((code->co_flags & CO_VARKEYWORDS) != 0);
    if (count > PyTuple_GET_SIZE(names))
        count = PyTuple_GET_SIZE(names);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        if (PyUnicode_Compare(name, STR_SELF) == 0)
            continue;
#if PY_VERSION_HEX < 0x030C0000
        PyObject *value = PyObject_GetItem(values, name);
        if (value == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_KeyError))
                goto failed;
#else
        PyObject *value = PyFrame_GetVar(frame, name);
        if (value == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_NameError))
                goto failed;
#endif
            PyErr_Clear();  /* unbound: not among `f_locals` */
            continue;
        }
        PyObject *text = named_value(name, value, redacting ? Py_True : Py_False);
        Py_DECREF(value);
        int kept = text ? PyDict_SetItem(stored, name, text) : -1;
        Py_XDECREF(text);
        if (kept < 0)
            goto failed;
    }
    Py_DECREF(names);
#if PY_VERSION_HEX < 0x030C0000
    Py_DECREF(values);
#endif
    return stored;
failed:
    Py_XDECREF(names);
#if PY_VERSION_HEX < 0x030C0000
    Py_XDECREF(values);
#endif
    Py_XDECREF(stored);
    return NULL;
}

/* `watched.before(frame)`, then `recorder.call(code, arguments, role=watched.role,
 * facts=watched.facts(frame))`: the new step's id (None past the cap), NULL on an error. */
static PyObject *
open_watched_step(PyObject *recorder, PyObject *watched, PyFrameObject *frame, PyObject *code)
{
    PyObject *before = PyObject_GetAttr(watched, STR_BEFORE);
    if (before == NULL)
        return NULL;
    if (before != Py_None) {
        PyObject *done = PyObject_CallOneArg(before, (PyObject *)frame);
        Py_XDECREF(done);
        if (done == NULL) {
            Py_DECREF(before);
            return NULL;
        }
    }
    Py_DECREF(before);
    PyObject *role = NULL, *facts = NULL, *facts_of = NULL, *step = NULL;
    PyObject *arguments = watched_arguments(recorder, frame, (PyCodeObject *)code);
    if (arguments == NULL || (role = PyObject_GetAttr(watched, KW_ROLE)) == NULL ||
        (facts_of = PyObject_GetAttr(watched, KW_FACTS)) == NULL)
        goto done;
    facts = facts_of == Py_None ? Py_NewRef(Py_None)
                                : PyObject_CallOneArg(facts_of, (PyObject *)frame);
    if (facts == NULL)
        goto done;
    PyObject *call[] = {recorder, code, arguments, role, facts};
    step = PyObject_VectorcallMethod(STR_CALL, call, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                     KWNAMES_ROLE_FACTS);
done:
    Py_XDECREF(arguments);
    Py_XDECREF(role);
    Py_XDECREF(facts_of);
    Py_XDECREF(facts);
    return step;
}

/* `CodeWatcher._global_trace` for a watched call inside a request (3.11): its step
 * opened, its lines left unreported, and `frame_tracer(step, code)` set as its local
 * trace function to see how it ends. A failure of the bookkeeping is counted and the
 * frame left untraced; anything else (KeyboardInterrupt) stops tracing and reaches the
 * app, as an error of a Python trace function does. */
static int
catch_watched(PyObject *recorder, PyObject *frame_tracer, PyObject *watched,
              PyFrameObject *frame)
{
    PyObject *code = (PyObject *)PyFrame_GetCode(frame);
    PyObject *step = open_watched_step(recorder, watched, frame, code);
    PyObject *tracer = NULL;
    int result = -1;
    if (step == NULL) {
        result = counted_by(recorder);
        goto done;
    }
    if (PyObject_SetAttr((PyObject *)frame, STR_F_TRACE_LINES, Py_False) == 0 &&
        (tracer = PyObject_CallFunctionObjArgs(frame_tracer, step, code, NULL)) != NULL)
        result = PyObject_SetAttr((PyObject *)frame, STR_F_TRACE, tracer);
done:
    if (result < 0) {  /* as CPython's trampoline: tracing stops */
        PyEval_SetTrace(NULL, NULL);
        PyObject *pending = raised_error();
        if (PyObject_SetAttr((PyObject *)frame, STR_F_TRACE, Py_None) < 0)
            PyErr_Clear();
        raise_again(pending);
    }
    Py_XDECREF(tracer);
    Py_XDECREF(step);
    Py_DECREF(code);
    return result;
}

/* `arguments(recorder, code, args, kwargs)`: stored forms by parameter name, `self` and
 * `cls` left out. */
static PyObject *
stored_arguments(Hook *self, PyObject *const *args, Py_ssize_t given, PyObject *kwnames)
{
    PyObject *redact_value = PyObject_GetAttr(self->recorder, STR_REDACT);
    int redacting = redact_value ? PyObject_IsTrue(redact_value) : -1;
    Py_XDECREF(redact_value);
    if (redacting < 0)
        return NULL;
    PyObject *redact = redacting ? Py_True : Py_False;
    PyObject *stored = PyDict_New();
    if (stored == NULL)
        return NULL;
    Py_ssize_t named = PyTuple_GET_SIZE(self->names);
    Py_ssize_t keywords = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t i = 0; i < given + keywords; i++) {
        PyObject *name;
        if (i >= given)
            name = Py_NewRef(PyTuple_GET_ITEM(kwnames, i - given));
        else if (i < named)
            name = Py_NewRef(PyTuple_GET_ITEM(self->names, i));
        else
            name = PyUnicode_FromFormat("arg%zd", i);
        if (name == NULL)
            goto failed;
        if (i < given && (PyUnicode_Compare(name, STR_SELF) == 0 ||
                          PyUnicode_Compare(name, STR_CLS) == 0)) {
            Py_DECREF(name);
            continue;
        }
        PyObject *text = stored_argument(name, args[i], redact);
        int kept = text ? PyDict_SetItem(stored, name, text) : -1;
        Py_DECREF(name);
        Py_XDECREF(text);
        if (kept < 0)
            goto failed;
    }
    return stored;
failed:
    Py_DECREF(stored);
    return NULL;
}

/* `counted_by(self->recorder)`. */
static int
count_failure(Hook *self)
{
    return counted_by(self->recorder);
}

/* `open_step`: the new step's id (None when none was opened), NULL when an error other
 * than an `Exception` escaped the bookkeeping. */
static PyObject *
hook_open(Hook *self, PyObject *const *args, Py_ssize_t given, PyObject *kwnames,
          PyObject *call_args, PyObject *call_kwargs)
{
    if (add_muted(1) < 0)
        return NULL;
    Py_DECREF(pause_tracing(NULL, NULL));
    PyObject *step = Py_NewRef(Py_None), *facts = NULL, *detail = NULL, *role = NULL;
    PyObject *call = NULL;
    facts = self->describe == Py_None ? Py_NewRef(Py_None)
        : PyObject_CallFunctionObjArgs(self->describe, call_args, call_kwargs, NULL);
    detail = facts ? stored_arguments(self, args, given, kwnames) : NULL;
    if (detail != NULL)
        role = self->role_of == Py_None ? Py_NewRef(self->role)
            : PyObject_CallFunctionObjArgs(self->role_of, call_args, call_kwargs, NULL);
    call = role ? PyObject_GetAttr(self->recorder, STR_CALL) : NULL;
    if (call != NULL) {
        PyObject *call_with[] = {self->code, detail, role, facts};
        PyObject *opened = PyObject_Vectorcall(call, call_with, 2, KWNAMES_ROLE_FACTS);
        if (opened != NULL)
            Py_SETREF(step, opened);
        else
            Py_CLEAR(call);
    }
    if (call != NULL && self->enter != Py_None) {
        PyObject *entered = PyObject_CallFunctionObjArgs(self->enter, step, call_args,
                                                         call_kwargs, NULL);
        if (entered == NULL)
            Py_CLEAR(call);
        Py_XDECREF(entered);
    }
    if (call == NULL && count_failure(self) < 0)
        Py_CLEAR(step);
    Py_XDECREF(call);
    Py_XDECREF(role);
    Py_XDECREF(detail);
    Py_XDECREF(facts);
    Py_DECREF(resume_tracing(NULL, NULL));
    if (add_muted(-1) < 0)
        Py_CLEAR(step);
    return step;
}

/* `original(*args, **kwargs)`, inside `with catching():` when the hook has one. */
static PyObject *
hook_run(Hook *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (self->catching == Py_None)
        return PyObject_Vectorcall(self->original, args, nargsf, kwnames);
    PyObject *manager = PyObject_CallNoArgs(self->catching);
    PyObject *entered = manager ? PyObject_CallMethodNoArgs(manager, STR_ENTER) : NULL;
    if (entered == NULL) {
        Py_XDECREF(manager);
        return NULL;
    }
    Py_DECREF(entered);
    PyObject *result = PyObject_Vectorcall(self->original, args, nargsf, kwnames);
    PyObject *exited;
    if (result != NULL) {
        exited = PyObject_CallMethodObjArgs(manager, STR_EXIT, Py_None, Py_None, Py_None,
                                            NULL);
        if (exited == NULL)
            Py_CLEAR(result);
    }
    else {
        PyObject *error = raised_error();
        PyObject *traceback = PyException_GetTraceback(error);
        exited = PyObject_CallMethodObjArgs(manager, STR_EXIT, (PyObject *)Py_TYPE(error),
                                            error, traceback ? traceback : Py_None, NULL);
        Py_XDECREF(traceback);
        int swallowed = exited ? PyObject_IsTrue(exited) : -1;
        if (swallowed > 0)
            result = Py_NewRef(Py_None);
        if (swallowed == 0)
            raise_again(error);
        else
            Py_DECREF(error);
    }
    Py_XDECREF(exited);
    Py_DECREF(manager);
    return result;
}

/* `close_step`: what the stand-in returns (`result`, or `returns(result)`), NULL when an
 * error other than an `Exception` escaped the bookkeeping. With `error` set, the step ends
 * with it and the return value (None) is not used. */
static PyObject *
hook_close(Hook *self, PyObject *step, PyObject *call_args, PyObject *call_kwargs,
           PyObject *result, PyObject *error)
{
    if (add_muted(1) < 0)
        return NULL;
    Py_DECREF(pause_tracing(NULL, NULL));
    PyObject *callback = error ? self->on_error : self->after;
    PyObject *seen = callback == Py_None ? Py_NewRef(Py_None)
        : PyObject_CallFunctionObjArgs(callback, step, call_args, call_kwargs,
                                       error ? error : result, NULL);
    /* `finally: recorder.leave(...)`: the step ends whatever the callback did; an error
     * of `leave` replaces the callback's. */
    PyObject *pending = seen ? NULL : raised_error();
    Py_XDECREF(seen);
    PyObject *out = NULL;
    PyObject *leave = PyObject_GetAttr(self->recorder, STR_LEAVE);
    PyObject *leave_with[] = {step, error ? error : result};
    PyObject *left = leave ? PyObject_Vectorcall(leave, leave_with, 1,
                                                 error ? KWNAMES_ERROR : KWNAMES_RESULT)
        : NULL;
    Py_XDECREF(leave);
    if (left == NULL)
        Py_XDECREF(pending);
    else if (pending != NULL)
        raise_again(pending);
    else if (error != NULL)
        out = Py_NewRef(Py_None);
    else if (self->returns != Py_None)
        out = PyObject_CallOneArg(self->returns, result);
    else
        out = Py_NewRef(result);
    Py_XDECREF(left);
    if (out == NULL && count_failure(self) == 0)
        out = Py_NewRef(error ? Py_None : result);
    Py_DECREF(resume_tracing(NULL, NULL));
    if (add_muted(-1) < 0)
        Py_CLEAR(out);
    return out;
}

/* The positional arguments as a tuple and the keywords as a dict, for the callbacks. */
static int
call_parts(PyObject *const *args, Py_ssize_t given, PyObject *kwnames, PyObject **call_args,
           PyObject **call_kwargs)
{
    *call_args = PyTuple_New(given);
    *call_kwargs = PyDict_New();
    if (*call_args == NULL || *call_kwargs == NULL)
        return -1;
    for (Py_ssize_t i = 0; i < given; i++)
        PyTuple_SET_ITEM(*call_args, i, Py_NewRef(args[i]));
    for (Py_ssize_t k = 0; kwnames && k < PyTuple_GET_SIZE(kwnames); k++) {
        if (PyDict_SetItem(*call_kwargs, PyTuple_GET_ITEM(kwnames, k), args[given + k]) < 0)
            return -1;
    }
    return 0;
}

static PyObject *
Hook_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Hook *self = (Hook *)callable;
    Py_ssize_t given = PyVectorcall_NARGS(nargsf);
    int active = truth_of(self->hooks, STR_ACTIVE);
    int muted = active > 0 ? is_muted(BOOKKEEPING, STR_MUTED) : 0;
    if (active < 0 || muted < 0)
        return NULL;
    if (!active || muted)
        return PyObject_Vectorcall(self->original, args, nargsf, kwnames);
    PyObject *call_args = NULL, *call_kwargs = NULL, *step = NULL, *result = NULL;
    if (call_parts(args, given, kwnames, &call_args, &call_kwargs) < 0)
        goto done;
    if (self->when != Py_None) {
        PyObject *wanted = PyObject_CallFunctionObjArgs(self->when, call_args, call_kwargs,
                                                        NULL);
        int recorded = wanted ? PyObject_IsTrue(wanted) : -1;
        Py_XDECREF(wanted);
        if (recorded <= 0) {
            if (recorded == 0)
                result = PyObject_Vectorcall(self->original, args, nargsf, kwnames);
            goto done;
        }
    }
    step = hook_open(self, args, given, kwnames, call_args, call_kwargs);
    if (step == NULL)
        goto done;
    result = hook_run(self, args, nargsf, kwnames);
    if (result == NULL) {
        /* As `except BaseException as error:` — the error is the one being handled while
         * the step closes — then `raise`, unless closing raised instead. */
        PyObject *error = raised_error();
        PyObject *handled = PyErr_GetHandledException();
        PyErr_SetHandledException(error);
        PyObject *closed = hook_close(self, step, call_args, call_kwargs, NULL, error);
        PyErr_SetHandledException(handled);
        Py_XDECREF(handled);
        if (closed == NULL)
            Py_DECREF(error);
        else {
            Py_DECREF(closed);
            raise_again(error);
        }
    }
    else
        Py_SETREF(result, hook_close(self, step, call_args, call_kwargs, result, NULL));
done:
    Py_XDECREF(step);
    Py_XDECREF(call_args);
    Py_XDECREF(call_kwargs);
    return result;
}

/* Bound to an instance as a function is (`obj.method`); itself from the class. */
static PyObject *
Hook_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

/* `<function Flask.wsgi_app at 0x...>`, as the function it stands in for shows. */
static PyObject *
Hook_repr(Hook *self)
{
    PyObject *name = self->dict ? PyDict_GetItemWithError(self->dict, STR_QUALNAME) : NULL;
    if (name != NULL && PyUnicode_Check(name))
        return PyUnicode_FromFormat("<function %U at %p>", name, self);
    if (PyErr_Occurred())
        return NULL;
    return PyUnicode_FromFormat("<function at %p>", self);
}

static int
Hook_traverse(Hook *self, visitproc visit, void *arg)
{
    Py_VISIT(self->dict);
    Py_VISIT(self->original);
    Py_VISIT(self->code);
    Py_VISIT(self->names);
    Py_VISIT(self->hooks);
    Py_VISIT(self->recorder);
    Py_VISIT(self->role);
    Py_VISIT(self->role_of);
    Py_VISIT(self->describe);
    Py_VISIT(self->after);
    Py_VISIT(self->on_error);
    Py_VISIT(self->when);
    Py_VISIT(self->enter);
    Py_VISIT(self->returns);
    Py_VISIT(self->catching);
    return 0;
}

static int
Hook_clear(Hook *self)
{
    Py_CLEAR(self->dict);
    Py_CLEAR(self->original);
    Py_CLEAR(self->code);
    Py_CLEAR(self->names);
    Py_CLEAR(self->hooks);
    Py_CLEAR(self->recorder);
    Py_CLEAR(self->role);
    Py_CLEAR(self->role_of);
    Py_CLEAR(self->describe);
    Py_CLEAR(self->after);
    Py_CLEAR(self->on_error);
    Py_CLEAR(self->when);
    Py_CLEAR(self->enter);
    Py_CLEAR(self->returns);
    Py_CLEAR(self->catching);
    return 0;
}

static void
Hook_dealloc(Hook *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakrefs != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    Hook_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Hook_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *original, *code, *names, *hooks, *recorder, *role, *role_of, *describe,
        *after, *on_error, *when, *enter, *returns, *catching;
    static char *keywords[] = {"original", "code", "names", "hooks", "recorder", "role",
                               "role_of", "describe", "after", "on_error", "when", "enter",
                               "returns", "catching", NULL};
    if (BOOKKEEPING == NULL || SAFE_VALUE == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "Hook: hook_helpers(...) or value_helpers(...) was not called");
        return NULL;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO!OOOOOOOOOOO", keywords, &original,
                                     &code, &PyTuple_Type, &names, &hooks, &recorder, &role,
                                     &role_of, &describe, &after, &on_error, &when, &enter,
                                     &returns, &catching))
        return NULL;
    if (code != Py_None && !PyCode_Check(code)) {
        PyErr_SetString(PyExc_TypeError, "Hook(code): a code object or None");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(names, i))) {
            PyErr_SetString(PyExc_TypeError, "Hook(names): a tuple of strings");
            return NULL;
        }
    }
    Hook *self = (Hook *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->vectorcall = Hook_vectorcall;
    self->dict = PyDict_New();
    if (self->dict == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    self->original = Py_NewRef(original);
    self->code = Py_NewRef(code);
    self->names = Py_NewRef(names);
    self->hooks = Py_NewRef(hooks);
    self->recorder = Py_NewRef(recorder);
    self->role = Py_NewRef(role);
    self->role_of = Py_NewRef(role_of);
    self->describe = Py_NewRef(describe);
    self->after = Py_NewRef(after);
    self->on_error = Py_NewRef(on_error);
    self->when = Py_NewRef(when);
    self->enter = Py_NewRef(enter);
    self->returns = Py_NewRef(returns);
    self->catching = Py_NewRef(catching);
    return (PyObject *)self;
}

static PyMemberDef Hook_members[] = {
    {"original", T_OBJECT, offsetof(Hook, original), READONLY,
     "The function this stands in for (also `__wrapped__`, unless someone removed it)."},
    {NULL}
};

static PyGetSetDef Hook_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL}
};

static PyTypeObject HookType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._stepcore.Hook",
    .tp_doc = "Hook(original, code, names, hooks, recorder, role, role_of, describe, after, "
              "on_error, when, enter, returns, catching): a hooked function's stand-in.",
    .tp_basicsize = sizeof(Hook),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
                Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_new = Hook_new,
    .tp_dealloc = (destructor)Hook_dealloc,
    .tp_traverse = (traverseproc)Hook_traverse,
    .tp_clear = (inquiry)Hook_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Hook, vectorcall),
    .tp_descr_get = Hook_get,
    .tp_repr = (reprfunc)Hook_repr,
    .tp_getset = Hook_getset,
    .tp_members = Hook_members,
    .tp_dictoffset = offsetof(Hook, dict),
    .tp_weaklistoffset = offsetof(Hook, weakrefs),
};

/* -- Guard and Catching: the recorder's two context managers ------------------------------
 *
 * `with recorder.guard():` runs around the bookkeeping inside the traced app (15 times in a
 * simple request) and `with watcher.catching():` around every proxied call (12): as
 * Python classes each costs two Python frames, and `catching` a third to make it. */

/* `recorder._Guard`: marks bookkeeping (`bookkeeping.muted`, tracing paused on 3.11) and
 * swallows its errors, counted by `failed(error)`. */
typedef struct {
    PyObject_HEAD
    PyObject *bookkeeping;
    PyObject *failed;
} Guard;

static PyObject *
Guard_enter(Guard *self, PyObject *unused)
{
    if (add_muted_to(self->bookkeeping, 1) < 0)
        return NULL;
    Py_DECREF(pause_tracing(NULL, NULL));
    Py_RETURN_NONE;
}

static PyObject *
Guard_exit(Guard *self, PyObject *const *args, Py_ssize_t given)
{
    if (given != 3) {
        PyErr_SetString(PyExc_TypeError, "__exit__ takes (kind, error, traceback)");
        return NULL;
    }
    Py_DECREF(resume_tracing(NULL, NULL));
    if (add_muted_to(self->bookkeeping, -1) < 0)
        return NULL;
    PyObject *error = args[1];
    if (!PyObject_TypeCheck(error, (PyTypeObject *)PyExc_Exception))
        Py_RETURN_FALSE;
    PyObject *counted = PyObject_CallOneArg(self->failed, error);
    if (counted == NULL)
        return NULL;
    Py_DECREF(counted);
    Py_RETURN_TRUE;
}

static int
Guard_traverse(Guard *self, visitproc visit, void *arg)
{
    Py_VISIT(self->bookkeeping);
    Py_VISIT(self->failed);
    return 0;
}

static int
Guard_clear(Guard *self)
{
    Py_CLEAR(self->bookkeeping);
    Py_CLEAR(self->failed);
    return 0;
}

static void
Guard_dealloc(Guard *self)
{
    PyObject_GC_UnTrack(self);
    Guard_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Guard_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *bookkeeping, *failed;
    static char *names[] = {"bookkeeping", "failed", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO", names, &bookkeeping, &failed))
        return NULL;
    Guard *self = (Guard *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->bookkeeping = Py_NewRef(bookkeeping);
    self->failed = Py_NewRef(failed);
    return (PyObject *)self;
}

static PyMethodDef Guard_methods[] = {
    {"__enter__", (PyCFunction)Guard_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))Guard_exit, METH_FASTCALL, NULL},
    {NULL}
};

static PyTypeObject GuardType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._stepcore.Guard",
    .tp_doc = "Guard(bookkeeping, failed): `recorder._Guard`, compiled.",
    .tp_basicsize = sizeof(Guard),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = Guard_new,
    .tp_dealloc = (destructor)Guard_dealloc,
    .tp_traverse = (traverseproc)Guard_traverse,
    .tp_clear = (inquiry)Guard_clear,
    .tp_methods = Guard_methods,
};

/* `watch._Catching`: on 3.11, traces watched frames on this thread for the duration when
 * no other trace function is set (`start`), or tells whether an enclosing call did; on
 * 3.12+ there is nothing to switch on (`sys.monitoring`) and it says True. */
typedef struct {
    PyObject_HEAD
    PyObject *watcher;
    int start;
    int started;
} Catching;

#if PY_VERSION_HEX < 0x030C0000
static PyObject *SYS_GETTRACE, *SYS_SETTRACE, *STR_CATCHER, *STR_GLOBAL_TRACE, *STR_START;

/* 1 when watched calls are caught once entered, 0 when not, -1 on error. */
static int
Catching_begin(Catching *self)
{
    PyObject *previous = PyObject_CallNoArgs(SYS_GETTRACE);
    PyObject *catcher = previous ? PyObject_GetAttr(self->watcher, STR_CATCHER) : NULL;
    PyObject *global_trace = catcher ? PyObject_GetAttr(self->watcher, STR_GLOBAL_TRACE)
                                     : NULL;
    int caught = -1;
    if (global_trace == NULL)
        goto done;
    if (previous != Py_None) {
        /* equal, not identical: a bound method (set again by an app restoring it) */
        caught = previous == catcher ? 1
                                     : PyObject_RichCompareBool(previous, global_trace, Py_EQ);
        goto done;
    }
    if (!self->start) {
        caught = 0;
        goto done;
    }
    PyObject *started = catcher == Py_None
        ? PyObject_CallOneArg(SYS_SETTRACE, global_trace)
        : PyObject_CallMethodNoArgs(catcher, STR_START);
    if (started != NULL) {
        Py_DECREF(started);
        self->started = 1;
        caught = 1;
    }
done:
    Py_XDECREF(global_trace);
    Py_XDECREF(catcher);
    Py_XDECREF(previous);
    return caught;
}
#endif

static PyObject *
Catching_enter(Catching *self, PyObject *unused)
{
#if PY_VERSION_HEX < 0x030C0000
    int caught = Catching_begin(self);
    if (caught < 0)
        return NULL;
    return PyBool_FromLong(caught);
#else
    Py_RETURN_TRUE;
#endif
}

static PyObject *
Catching_exit(Catching *self, PyObject *const *args, Py_ssize_t given)
{
#if PY_VERSION_HEX < 0x030C0000
    if (self->started) {
        self->started = 0;
        PyObject *ended = PyObject_CallOneArg(SYS_SETTRACE, Py_None);
        if (ended == NULL)
            return NULL;
        Py_DECREF(ended);
    }
#endif
    Py_RETURN_NONE;
}

static int
Catching_traverse(Catching *self, visitproc visit, void *arg)
{
    Py_VISIT(self->watcher);
    return 0;
}

static int
Catching_clear(Catching *self)
{
    Py_CLEAR(self->watcher);
    return 0;
}

static void
Catching_dealloc(Catching *self)
{
    PyObject_GC_UnTrack(self);
    Catching_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Catching_vectorcall(PyObject *type, PyObject *const *args, size_t nargsf,
                                     PyObject *kwnames);

/* `Catching(...)` where vectorcall is not used (a subclass, `type.__call__`). */
static PyObject *
Catching_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    return PyVectorcall_Call((PyObject *)type, args, kwargs);
}

/* The type called with vectorcall: `catching()` runs around every proxied call, and
 * parsing keywords from names each time cost more than the window itself. */
static PyObject *
Catching_vectorcall(PyObject *type, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t given = PyVectorcall_NARGS(nargsf);
    Py_ssize_t named = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    PyObject *watcher = given > 0 ? args[0] : NULL, *start = given > 1 ? args[1] : NULL;
    PyObject *unless_in = NULL;
    for (Py_ssize_t i = 0; i < named; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i);
        if (PyUnicode_CompareWithASCIIString(name, "start") == 0 && start == NULL)
            start = args[given + i];
        else if (PyUnicode_CompareWithASCIIString(name, "unless_in") == 0 && unless_in == NULL)
            unless_in = args[given + i];
        else
            watcher = NULL;  /* an unknown or repeated keyword */
    }
    if (watcher == NULL || given > 2 ||
            (unless_in != NULL && !PyContextVar_CheckExact(unless_in))) {
        PyErr_SetString(PyExc_TypeError,
                        "Catching(watcher, start=True, *, unless_in=None): bad arguments");
        return NULL;
    }
    int starting = start == NULL ? 1 : PyObject_IsTrue(start);
    if (starting < 0)
        return NULL;
    if (unless_in != NULL && starting) {  /* started only where the variable is unset */
        PyObject *current;
        if (PyContextVar_Get(unless_in, Py_None, &current) < 0)
            return NULL;
        starting = current == Py_None;
        Py_DECREF(current);
    }
    Catching *self = (Catching *)((PyTypeObject *)type)->tp_alloc((PyTypeObject *)type, 0);
    if (self == NULL)
        return NULL;
    self->watcher = Py_NewRef(watcher);
    self->start = starting;
    self->started = 0;
    return (PyObject *)self;
}

static PyMethodDef Catching_methods[] = {
    {"__enter__", (PyCFunction)Catching_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))Catching_exit, METH_FASTCALL, NULL},
    {NULL}
};

static PyTypeObject CatchingType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._stepcore.Catching",
    .tp_doc = "Catching(watcher, start=True, *, unless_in=None): `watch._Catching`, compiled; "
              "with `unless_in` (a context variable) started only where it is unset.",
    .tp_basicsize = sizeof(Catching),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = Catching_new,
    .tp_vectorcall = Catching_vectorcall,
    .tp_dealloc = (destructor)Catching_dealloc,
    .tp_traverse = (traverseproc)Catching_traverse,
    .tp_clear = (inquiry)Catching_clear,
    .tp_methods = Catching_methods,
};


/* -- safe_repr: `tracer.saferepr.safe_repr`'s common cases, compiled ------------------------
 *
 * A hook-mode request makes a dozen and a half stored forms, and the Python function's own
 * steps (the type tests, the route of the type, the scrubbing variable, the substring
 * pre-check of `redact_text`) cost more than most of the reprs. Here: exact scalars, short
 * exact strings, and values whose type `saferepr._routes` already knows as shown by their
 * own repr or by name only; anything else (containers, proxies, a type not seen yet, text
 * that is not ASCII where the pre-check would lower it) goes to the Python function, given
 * by `repr_helpers`, which this must always agree with (`tests/tracer/test_safe_repr_core.py`). */

static PyObject *SR_PYTHON, *SR_ROUTES, *SR_SCRUBBER, *SR_REDACT_TEXT, *SR_OWN, *SR_NAMES,
    *SR_PLACEHOLDER;

/* repr_helpers(python_safe_repr, routes, scrubber, redact_text, own, names, placeholder) */
static PyObject *
repr_helpers(PyObject *module, PyObject *args)
{
    PyObject *python, *routes, *scrubber, *redact_text, *own, *names, *placeholder;
    if (!PyArg_ParseTuple(args, "OO!OOOOO", &python, &PyDict_Type, &routes, &scrubber,
                          &redact_text, &own, &names, &placeholder))
        return NULL;
    Py_XSETREF(SR_PYTHON, Py_NewRef(python));
    Py_XSETREF(SR_ROUTES, Py_NewRef(routes));
    Py_XSETREF(SR_SCRUBBER, Py_NewRef(scrubber));
    Py_XSETREF(SR_REDACT_TEXT, Py_NewRef(redact_text));
    Py_XSETREF(SR_OWN, Py_NewRef(own));
    Py_XSETREF(SR_NAMES, Py_NewRef(names));
    Py_XSETREF(SR_PLACEHOLDER, Py_NewRef(placeholder));
    Py_RETURN_NONE;
}

static PyObject *STR_FILL;  /* "..." */

/* `text[:head] + "..." + text[len(text) - tail:]`, sliced as Python slices (a negative
 * start counts from the end); steals `text`. */
static PyObject *
cut_middle(PyObject *text, Py_ssize_t head, Py_ssize_t tail)
{
    if (text == NULL)
        return NULL;
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    PyObject *first = PySequence_GetSlice(text, 0, head);
    PyObject *last = first ? PySequence_GetSlice(text, length - tail, PY_SSIZE_T_MAX) : NULL;
    PyObject *start = last ? PyUnicode_Concat(first, STR_FILL) : NULL;
    PyObject *joined = start ? PyUnicode_Concat(start, last) : NULL;
    Py_XDECREF(start);
    Py_XDECREF(last);
    Py_XDECREF(first);
    Py_DECREF(text);
    return joined;
}

/* `text[:98] + "..." + text[-98:]` past MAX_TEXT characters; steals `text`. */
static PyObject *
cut_short(PyObject *text)
{
    if (text == NULL || PyUnicode_GET_LENGTH(text) <= MAX_TEXT)
        return text;
    return cut_middle(text, (MAX_TEXT - 3) / 2, (MAX_TEXT - 3) / 2);
}

/* `saferepr._may_hold_secret(text.lower())` for ASCII text; 1 for any other text (the
 * Python function decides). */
static int
may_hold_secret(PyObject *text)
{
    static const char *words[] = {"pass", "pwd", "secret", "token", "api", "session", "csrf",
                                  "auth", "cookie", NULL};
    if (!PyUnicode_IS_ASCII(text) || PyUnicode_GET_LENGTH(text) > MAX_TEXT)
        return 1;
    char lowered[MAX_TEXT + 1];
    const Py_UCS1 *data = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    for (Py_ssize_t i = 0; i < length; i++) {
        char c = (char)data[i];
        lowered[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : (c == '\0' ? ' ' : c);
    }
    lowered[length] = '\0';
    for (const char **word = words; *word != NULL; word++)
        if (strstr(lowered, *word) != NULL)
            return 1;
    return 0;
}

/* The entry `saferepr._routes` holds for `kind`, (type ref, route, plain mapping), borrowed;
 * NULL when it holds none for this very type (or on an error). */
static PyObject *
known_entry(PyTypeObject *kind)
{
    PyObject *key = PyLong_FromVoidPtr(kind);
    PyObject *known = key ? PyDict_GetItemWithError(SR_ROUTES, key) : NULL;
    Py_XDECREF(key);
    if (known == NULL || !PyTuple_CheckExact(known) || PyTuple_GET_SIZE(known) != 3)
        return NULL;
    PyObject *ref = PyTuple_GET_ITEM(known, 0);
    if (!PyWeakref_CheckRef(ref))
        return NULL;
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *target;
    if (PyWeakref_GetRef(ref, &target) < 0)
        return NULL;
    int same = target == (PyObject *)kind;
    Py_XDECREF(target);
#else
    int same = PyWeakref_GET_OBJECT(ref) == (PyObject *)kind;
#endif
    return same ? known : NULL;
}

/* The route `saferepr._routes` knows for `kind` (borrowed), or NULL (none, or an error). */
static PyObject *
known_route(PyTypeObject *kind)
{
    PyObject *known = known_entry(kind);
    return known == NULL ? NULL : PyTuple_GET_ITEM(known, 1);
}

/* `_placeholder(value, error)` for the error being raised. */
static PyObject *
repr_failed(PyObject *value)
{
    PyObject *error = raised_error();
    if (error == NULL)
        return NULL;
    if (!PyObject_TypeCheck(error, (PyTypeObject *)PyExc_Exception)) {
        raise_again(error);  /* a KeyboardInterrupt goes on up, as in Python */
        return NULL;
    }
    PyObject *shown = PyObject_CallFunctionObjArgs(SR_PLACEHOLDER, value, error, NULL);
    Py_DECREF(error);
    return shown;
}

static PyObject *
python_safe_repr(PyObject *value, int redact)
{
    PyObject *args[] = {value, redact ? Py_True : Py_False};
    return PyObject_Vectorcall(SR_PYTHON, args, 1, KWNAMES_REDACT);
}

/* -- the bounded walk: `saferepr._BoundedRepr` (redacting) over builtin containers ------
 *
 * A dict, list or tuple that is not short and flat goes through `_BoundedRepr`'s walk:
 * at most 12 items a container, 3 levels, strings cut at 160 characters, secret-looking
 * keys hiding their values. A hook-mode request walks several (a view's JSON dict as its
 * result and as `make_response`'s argument, the match's `(rule, view_args)`), and the
 * walk in Python cost more than the rest of those steps. Here the same walk for exact
 * builtins and for objects `repr_instance` shows (a type `_routes` knows as shown by its
 * own repr or by name only); any other item (a set, a proxy, a mapping type the walk
 * reads, a type not routed yet, a long int) is handed to the Python walk's `repr1`, given
 * by `walk_helpers`, at the level it is met. */

#define WALK_LEVEL 3     /* _BoundedRepr.maxlevel */
#define WALK_ITEMS 12    /* maxdict, maxlist, maxtuple */
#define WALK_STRING 160  /* maxstring */
#define WALK_OTHER 160   /* maxother */

/* Type names reprlib finds a `repr_<name>` method for (`Repr.repr1`'s lookup by name), or
 * that would find `repr`/`repr1` themselves: `repr_instance` does not show those. */
static const char *const WALK_NAMED[] = {"", "1", "tuple", "list", "array", "set", "frozenset",
                                         "deque", "dict", "str", "int", "instance", NULL};

static PyObject *STR_COMMA_SPACE;  /* ", " */
static PyObject *WALK_PYTHON;      /* saferepr._REDACTING.repr1 */
static PyObject *WALK_NAMES_ONLY;  /* saferepr._names_only */

/* walk_helpers(repr1, names_only): the Python walk's `repr1`, for the items this walk
 * leaves to it, and `_names_only`, for a type not routed yet under a secret-looking key. */
static PyObject *
walk_helpers(PyObject *module, PyObject *args)
{
    PyObject *repr1, *names_only;
    if (!PyArg_ParseTuple(args, "OO", &repr1, &names_only))
        return NULL;
    Py_XSETREF(WALK_PYTHON, Py_NewRef(repr1));
    Py_XSETREF(WALK_NAMES_ONLY, Py_NewRef(names_only));
    Py_RETURN_NONE;
}

/* 1 when the Python walk shows `value` by `repr_instance` (its type routed as shown by its
 * own repr or by name, no plain mapping, no reprlib method by its name), 0 if not, -1 on
 * an error. */
static int
shown_by_instance_repr(PyObject *value)
{
    PyTypeObject *kind = Py_TYPE(value);
    PyObject *known = known_entry(kind);
    if (known == NULL)
        return PyErr_Occurred() ? -1 : 0;
    PyObject *route = PyTuple_GET_ITEM(known, 1);
    if (route != SR_OWN && route != SR_NAMES && !PyDict_Check(value))
        return 0;  /* a proxy, or a container of another type: the Python walk decides */
    if (!PyDict_Check(value) && PyTuple_GET_ITEM(known, 2) != Py_False)
        return 0;  /* a plain mapping: the Python walk shows its items */
    PyObject *name = PyType_GetName(kind);
    if (name == NULL)
        return -1;
    int shown = PyUnicode_IS_ASCII(name) && PyUnicode_FindChar(
        name, ' ', 0, PyUnicode_GET_LENGTH(name), 1) == -1;
    for (const char *const *named = WALK_NAMED; shown && *named != NULL; named++)
        if (PyUnicode_CompareWithASCIIString(name, *named) == 0)
            shown = 0;
    Py_DECREF(name);
    return shown;
}

/* `scrubbed(text)` with the scrubber read once for the walk (NULL: none); steals `text`. */
static PyObject *
walk_scrubbed(PyObject *text, PyObject *scrub)
{
    if (text == NULL || scrub == NULL)
        return text;
    Py_SETREF(text, PyObject_CallOneArg(scrub, text));
    if (text != NULL && !PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "a scrubber returned no string");
        Py_CLEAR(text);
    }
    return text;
}

/* `_BoundedRepr.repr_instance`: the value's own repr, scrubbed, cut past 160 characters. */
static PyObject *
walk_instance(PyObject *value, PyObject *scrub)
{
    PyObject *text = PyObject_Repr(value);
    if (text == NULL)
        return repr_failed(value);  /* the placeholder, neither scrubbed nor cut */
    text = walk_scrubbed(text, scrub);
    if (text == NULL || PyUnicode_GET_LENGTH(text) <= WALK_OTHER)
        return text;
    return cut_middle(text, (WALK_OTHER - 3) / 2, (WALK_OTHER - 3) / 2);
}

/* `_BoundedRepr.repr_str`: scrubbed, then reprlib's `repr_str`. */
static PyObject *
walk_string(PyObject *value, PyObject *scrub)
{
    PyObject *text = walk_scrubbed(Py_NewRef(value), scrub);
    if (text == NULL)
        return NULL;
    PyObject *head = PySequence_GetSlice(text, 0, WALK_STRING);
    PyObject *shown = head ? PyObject_Repr(head) : NULL;
    Py_XDECREF(head);
    if (shown == NULL || PyUnicode_GET_LENGTH(shown) <= WALK_STRING) {
        Py_DECREF(text);
        return shown;
    }
    Py_DECREF(shown);
    Py_ssize_t i = (WALK_STRING - 3) / 2, j = WALK_STRING - 3 - i;
    PyObject *first = PySequence_GetSlice(text, 0, i);
    PyObject *last = first ? PySequence_GetSlice(text, PyUnicode_GET_LENGTH(text) - j,
                                                 PY_SSIZE_T_MAX) : NULL;
    PyObject *kept = last ? PyUnicode_Concat(first, last) : NULL;
    Py_XDECREF(first);
    Py_XDECREF(last);
    Py_DECREF(text);
    shown = kept ? PyObject_Repr(kept) : NULL;
    Py_XDECREF(kept);
    return cut_middle(shown, i, j);
}

static PyObject *walk(PyObject *value, int level, PyObject *scrub);

/* `left + ", ".join(pieces) + right`; steals `pieces`. */
static PyObject *
joined(const char *left, PyObject *pieces, const char *right)
{
    if (pieces == NULL)
        return NULL;
    PyObject *body = PyUnicode_Join(STR_COMMA_SPACE, pieces);
    Py_DECREF(pieces);
    if (body == NULL)
        return NULL;
    PyObject *text = PyUnicode_FromFormat("%s%U%s", left, body, right);
    Py_DECREF(body);
    return text;
}

/* reprlib's `_repr_iterable` for a list or a tuple. */
static PyObject *
walk_items(PyObject *value, int level, PyObject *scrub)
{
    int tuple = PyTuple_CheckExact(value);
    const char *left = tuple ? "(" : "[", *right = tuple ? ")" : "]";
    Py_ssize_t count = PySequence_Fast_GET_SIZE(value);
    if (level <= 0 && count)
        return PyUnicode_FromFormat("%s...%s", left, right);
    PyObject *pieces = PyList_New(0);
    /* islice over the list as it is at each step: a repr may shorten it meanwhile */
    for (Py_ssize_t i = 0; pieces && i < WALK_ITEMS && i < PySequence_Fast_GET_SIZE(value);
         i++) {
        PyObject *item = Py_NewRef(PySequence_Fast_GET_ITEM(value, i));
        PyObject *piece = walk(item, level - 1, scrub);
        Py_DECREF(item);
        if (piece == NULL || PyList_Append(pieces, piece) < 0)
            Py_CLEAR(pieces);
        Py_XDECREF(piece);
    }
    if (pieces != NULL && count > WALK_ITEMS && PyList_Append(pieces, STR_FILL) < 0)
        Py_CLEAR(pieces);
    return joined(left, pieces, count == 1 && tuple ? ",)" : right);
}

/* `_names_only(value)`: whether a value under a secret-looking key shows names only.
 * Builtins never do; another type as `_routes` knows it, else as `_names_only` finds it
 * (routing the type). 1, 0, or -1 on an error. */
static int
names_only_value(PyObject *value)
{
    PyTypeObject *kind = Py_TYPE(value);
    if (kind == &PyUnicode_Type || kind == &PyLong_Type || kind == &PyFloat_Type ||
            kind == &PyBool_Type || value == Py_None || kind == &PyList_Type ||
            kind == &PyTuple_Type || kind == &PyDict_Type)
        return 0;
    PyObject *route = known_route(kind);
    if (route != NULL)
        return route == SR_NAMES;
    if (PyErr_Occurred())
        return -1;
    PyObject *answer = PyObject_CallOneArg(WALK_NAMES_ONLY, value);
    int names = answer ? PyObject_IsTrue(answer) : -1;
    Py_XDECREF(answer);
    return names;
}

/* `_BoundedRepr._repr_mapping` for a dict. */
static PyObject *
walk_mapping(PyObject *value, int level, PyObject *scrub)
{
    if (PyDict_GET_SIZE(value) == 0)
        return PyUnicode_FromString("{}");
    if (level <= 0)
        return PyUnicode_FromString("{...}");
    PyObject *keys = PyDict_Keys(value);
    PyObject *pieces = keys ? PyList_New(0) : NULL;
    for (Py_ssize_t i = 0; pieces && i < PyList_GET_SIZE(keys); i++) {
        if (i >= WALK_ITEMS) {
            if (PyList_Append(pieces, STR_FILL) < 0)
                Py_CLEAR(pieces);
            break;
        }
        PyObject *key = PyList_GET_ITEM(keys, i);
        PyObject *item = PyDict_GetItemWithError(value, key);
        if (item == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetObject(PyExc_KeyError, key);  /* `x[key]`: gone since */
            Py_CLEAR(pieces);
            break;
        }
        Py_INCREF(item);
        int secret = PyUnicode_Check(key) ? secret_name(key) : 0;
        if (secret > 0) {
            int names = names_only_value(item);
            secret = names < 0 ? -1 : !names;
        }
        PyObject *item_text = NULL, *key_text = NULL;
        if (secret > 0)
            item_text = Py_NewRef(REDACTED);
        else if (secret == 0)
            item_text = walk(item, level - 1, scrub);
        Py_DECREF(item);
        if (item_text != NULL)
            key_text = walk(key, level - 1, scrub);
        PyObject *piece = key_text ? PyUnicode_FromFormat("%U: %U", key_text, item_text) : NULL;
        if (piece == NULL || PyList_Append(pieces, piece) < 0)
            Py_CLEAR(pieces);
        Py_XDECREF(piece);
        Py_XDECREF(key_text);
        Py_XDECREF(item_text);
    }
    Py_XDECREF(keys);
    return joined("{", pieces, "}");
}

/* `_BoundedRepr.repr1(value, level)`: an `Exception` raised on the way becomes the value's
 * placeholder, as `repr1`'s `except` makes it; NULL only for an error the Python walk lets
 * through (KeyboardInterrupt). */
static PyObject *
walk(PyObject *value, int level, PyObject *scrub)
{
    PyTypeObject *kind = Py_TYPE(value);
    PyObject *shown;
    if (kind == &PyUnicode_Type)
        shown = walk_string(value, scrub);
    else if (kind == &PyFloat_Type || kind == &PyBool_Type || value == Py_None)
        shown = walk_instance(value, scrub);
    else if (kind == &PyList_Type || kind == &PyTuple_Type)
        shown = walk_items(value, level, scrub);
    else if (kind == &PyDict_Type)
        shown = walk_mapping(value, level, scrub);
    else {
        int by_instance = 0;
        if (kind == &PyLong_Type) {
            int overflow;
            PyLong_AsLongLongAndOverflow(value, &overflow);  /* an exact int: never fails */
            if (!overflow)
                return PyObject_Repr(value);  /* at most 20 characters: never cut */
        }
        else
            by_instance = shown_by_instance_repr(value);
        if (by_instance > 0)
            shown = walk_instance(value, scrub);
        else if (by_instance == 0)
            return PyObject_CallFunction(WALK_PYTHON, "Oi", value, level);
        else
            shown = NULL;
    }
    return shown != NULL ? shown : repr_failed(value);
}

/* The redacting walk of a dict, list or tuple, as `_REDACTING.repr(value)` gives it. */
static PyObject *
walked_repr(PyObject *value)
{
    PyObject *scrub;
    if (PyContextVar_Get(SR_SCRUBBER, Py_None, &scrub) < 0)
        return NULL;
    if (scrub == Py_None)
        Py_CLEAR(scrub);
    PyObject *shown = walk(value, WALK_LEVEL, scrub);
    Py_XDECREF(scrub);
    return shown;
}

/* safe_repr(value, *, redact=True) */
/* `saferepr._short_and_flat`: a list or tuple within the walk's limits holding only short
 * ASCII strings, booleans, None and small numbers (as `['GET', 'POST']`), whose plain
 * repr is what the bounded walk gives. An int past a machine word goes to Python. */
#define FLAT_MAX_ITEMS 12
#define FLAT_TEXT 39
static int
short_and_flat(PyObject *items)
{
    Py_ssize_t count = PyList_CheckExact(items) ? PyList_GET_SIZE(items)
                                                : PyTuple_GET_SIZE(items);
    if (count > FLAT_MAX_ITEMS)
        return 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyList_CheckExact(items) ? PyList_GET_ITEM(items, i)
                                                  : PyTuple_GET_ITEM(items, i);
        PyTypeObject *kind = Py_TYPE(item);
        if (kind == &PyUnicode_Type) {
            if (PyUnicode_GET_LENGTH(item) > FLAT_TEXT || !PyUnicode_IS_ASCII(item))
                return 0;
        }
        else if (kind == &PyLong_Type) {
            int overflow;
            PyLong_AsLongLongAndOverflow(item, &overflow);
            if (overflow || PyErr_Occurred()) {
                PyErr_Clear();
                return 0;
            }
        }
        else if (kind != &PyBool_Type && item != Py_None)
            return 0;
    }
    return 1;
}

static PyObject *
safe_repr_function(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                   PyObject *kwnames)
{
    Py_ssize_t given = PyVectorcall_NARGS(nargs);
    int redact = 1;
    if (given != 1 || (kwnames != NULL && (PyTuple_GET_SIZE(kwnames) != 1 ||
            !PyUnicode_Check(PyTuple_GET_ITEM(kwnames, 0)) ||
            PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "redact") != 0))) {
        PyErr_SetString(PyExc_TypeError, "safe_repr(value, *, redact=True)");
        return NULL;
    }
    if (SR_PYTHON == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "repr_helpers() was not called");
        return NULL;
    }
    if (kwnames != NULL && (redact = PyObject_IsTrue(args[1])) < 0)
        return NULL;
    return core_safe_repr(args[0], redact);
}

/* `saferepr.safe_repr(value, redact=redact)`: its common cases here, the rest by the
 * Python function. `repr_helpers` must have been called. */
static PyObject *
core_safe_repr(PyObject *value, int redact)
{
    PyTypeObject *kind = Py_TYPE(value);
    if (kind == &PyLong_Type || kind == &PyFloat_Type || kind == &PyBool_Type ||
            kind == &PyComplex_Type || value == Py_None) {
        PyObject *text = PyObject_Repr(value);
        return text == NULL ? repr_failed(value) : cut_short(text);
    }
    int names_only = 0;  /* decided before the repr: running it may change `_routes` */
    if (kind == &PyUnicode_Type && PyUnicode_GET_LENGTH(value) > MAX_TEXT - 2)
        return python_safe_repr(value, redact);  /* reprlib cuts a long string itself */
    /* what the bounded walk would give, without walking: its plain repr */
    int plain = ((kind == &PyList_Type || kind == &PyTuple_Type) && short_and_flat(value)) ||
                (kind == &PyDict_Type && PyDict_GET_SIZE(value) == 0);
    PyObject *text = NULL;
    if (redact && !plain && WALK_PYTHON != NULL && (kind == &PyDict_Type || kind == &PyList_Type ||
                             kind == &PyTuple_Type)) {
        text = walked_repr(value);
        if (text == NULL)
            return NULL;
    }
    else if (kind != &PyUnicode_Type && !plain) {
        PyObject *route = known_route(kind);
        if (route == NULL && PyErr_Occurred())
            return NULL;
        if (route != SR_OWN && route != SR_NAMES)
            return python_safe_repr(value, redact);
        names_only = route == SR_NAMES;
    }
    if (text == NULL) {
        text = PyObject_Repr(value);
        if (text == NULL)
            return repr_failed(value);
    }
    if (redact && !names_only) {
        PyObject *scrub;
        if (PyContextVar_Get(SR_SCRUBBER, Py_None, &scrub) < 0) {
            Py_DECREF(text);
            return NULL;
        }
        if (scrub != Py_None)
            Py_SETREF(text, PyObject_CallOneArg(scrub, text));
        Py_DECREF(scrub);
        if (text == NULL)
            return NULL;
        if (!PyUnicode_Check(text)) {  /* a scrubber's odd answer: Python's path says */
            Py_DECREF(text);
            return python_safe_repr(value, redact);
        }
    }
    text = cut_short(text);
    if (text == NULL || !redact || names_only || !may_hold_secret(text))
        return text;
    Py_SETREF(text, PyObject_CallOneArg(SR_REDACT_TEXT, text));
    return text;
}

/* -- plain_extras: `_freeze`'s per-step work, compiled ------------------------------------
 *
 * When a trace is built every step's stored detail (the strings hooks rendered, then the
 * values line tracing kept raw, `values.rendered_detail`) and its facts become plain JSON
 * values with the secrets known by value hidden (`plain.PlainValues`). A live server does
 * this for every request it stores, a line-mode registration for tens of thousands of
 * steps. Here the same for exact builtins; any other fact value goes to the given
 * `PlainValues` (`value(v, depth)`, `_text(v)`), which this must always agree with (the
 * pure engine uses the Python functions; `tests/tracer/test_engines_agree.py`). */

#define PLAIN_MAX_DEPTH 12  /* plain._MAX_DEPTH */
#define PLAIN_DETAIL (-1)   /* plain_mapping of a detail: every value by `_text` */

typedef struct {
    PyObject *plain;       /* the PlainValues, for what is not done here */
    PyObject *scrub;       /* its scrub function, or NULL */
    PyObject *code_names;  /* names of code kept as they are (a frozenset) */
    PyObject *memo;        /* id of a kept value -> its stored form */
    PyObject *deleted;     /* values.DELETED */
    PyObject *redact;      /* Py_True / Py_False */
} PlainParts;

/* `PlainValues.scrub(text)` for an exact string; steals `text`. */
static PyObject *
plain_scrub(PlainParts *parts, PyObject *text)
{
    if (text == NULL || parts->scrub == NULL)
        return text;
    int kept = PySet_Contains(parts->code_names, text);
    if (kept != 0) {
        if (kept < 0)
            Py_CLEAR(text);
        return text;
    }
    Py_SETREF(text, PyObject_CallOneArg(parts->scrub, text));
    return text;
}

/* `PlainValues._text(value)`. */
static PyObject *
plain_text(PlainParts *parts, PyObject *value)
{
    if (PyUnicode_CheckExact(value))
        return plain_scrub(parts, Py_NewRef(value));
    if (PyUnicode_Check(value))
        return PyObject_CallMethod(parts->plain, "_text", "O", value);
    return plain_scrub(parts, core_safe_repr(value, 1));
}

static PyObject *plain_mapping(PlainParts *parts, PyObject *mapping, int depth);

/* `PlainValues.value(value, depth)`. */
static PyObject *
plain_value(PlainParts *parts, PyObject *value, int depth)
{
    PyTypeObject *kind = Py_TYPE(value);
    if (kind == &PyUnicode_Type)
        return plain_scrub(parts, Py_NewRef(value));
    if (value == Py_None || kind == &PyBool_Type || kind == &PyLong_Type)
        return Py_NewRef(value);
    if (kind == &PyFloat_Type && isfinite(PyFloat_AS_DOUBLE(value)))
        return Py_NewRef(value);
    if (depth < PLAIN_MAX_DEPTH && (kind == &PyList_Type || kind == &PyTuple_Type)) {
        PyObject *items = PyList_New(0);
        for (Py_ssize_t i = 0; items && i < PySequence_Fast_GET_SIZE(value); i++) {
            PyObject *item = Py_NewRef(PySequence_Fast_GET_ITEM(value, i));
            PyObject *plain = plain_value(parts, item, depth + 1);
            Py_DECREF(item);
            if (plain == NULL || PyList_Append(items, plain) < 0)
                Py_CLEAR(items);
            Py_XDECREF(plain);
        }
        return items;
    }
    if (depth < PLAIN_MAX_DEPTH && kind == &PyDict_Type)
        return plain_mapping(parts, value, depth + 1);
    return PyObject_CallMethod(parts->plain, "value", "Oi", value, depth);
}

/* `{_text(key): convert(value)}` of a mapping, an empty dict for none: a detail's values
 * by `_text` (`depth` PLAIN_DETAIL), facts and dicts inside them by `value(v, depth)`. */
static PyObject *
plain_mapping(PlainParts *parts, PyObject *mapping, int depth)
{
    PyObject *plain = PyDict_New();
    if (plain == NULL || mapping == Py_None)
        return plain;
    int truth = PyObject_IsTrue(mapping);
    if (truth <= 0) {
        if (truth < 0)
            Py_CLEAR(plain);
        return plain;
    }
    PyObject *items = PyMapping_Items(mapping);
    for (Py_ssize_t i = 0; items && i < PyList_GET_SIZE(items); i++) {
        PyObject *pair = PyList_GET_ITEM(items, i);
        PyObject *key = plain_text(parts, PyTuple_GET_ITEM(pair, 0));
        PyObject *item = key == NULL ? NULL
            : depth >= 0 ? plain_value(parts, PyTuple_GET_ITEM(pair, 1), depth)
                         : plain_text(parts, PyTuple_GET_ITEM(pair, 1));
        if (item == NULL || PyDict_SetItem(plain, key, item) < 0)
            Py_CLEAR(plain);
        Py_XDECREF(key);
        Py_XDECREF(item);
        if (plain == NULL)
            break;
    }
    if (items == NULL)
        Py_CLEAR(plain);
    Py_XDECREF(items);
    return plain;
}

/* `values.render(name, value, redact, memo)`: the stored form of one kept value. */
static PyObject *
rendered_value(PlainParts *parts, PyObject *name, PyObject *value)
{
    if (value == parts->deleted)
        return PyUnicode_FromString("<deleted>");
    if (parts->redact == Py_True && value != Py_None) {
        int secret = secret_name(name);
        if (secret < 0)
            return NULL;
        if (secret)
            return named_value(name, value, parts->redact);
    }
    PyObject *key = PyLong_FromVoidPtr(value);
    if (key == NULL)
        return NULL;
    PyObject *text = PyDict_GetItemWithError(parts->memo, key);
    if (text != NULL || PyErr_Occurred()) {
        Py_DECREF(key);
        return Py_XNewRef(text);
    }
    text = core_safe_repr(value, parts->redact == Py_True);
    if (text != NULL && PyDict_SetItem(parts->memo, key, text) < 0)
        Py_CLEAR(text);
    Py_DECREF(key);
    return text;
}

/* `PlainValues.detail(values.rendered_detail(detail, raw, redact, memo))`. */
static PyObject *
plain_detail(PlainParts *parts, PyObject *detail, PyObject *raw)
{
    int any_raw = raw == Py_None ? 0 : PyObject_IsTrue(raw);
    if (any_raw <= 0)
        return any_raw < 0 ? NULL : plain_mapping(parts, detail, PLAIN_DETAIL);
    PyObject *merged = PyDict_New();
    if (merged == NULL)
        return NULL;
    if (detail != Py_None && PyDict_Update(merged, detail) < 0) {
        Py_DECREF(merged);
        return NULL;
    }
    PyObject *items = PyMapping_Items(raw);
    for (Py_ssize_t i = 0; items && i < PyList_GET_SIZE(items); i++) {
        PyObject *pair = PyList_GET_ITEM(items, i);
        PyObject *text = rendered_value(parts, PyTuple_GET_ITEM(pair, 0),
                                        PyTuple_GET_ITEM(pair, 1));
        if (text == NULL || PyDict_SetItem(merged, PyTuple_GET_ITEM(pair, 0), text) < 0)
            Py_CLEAR(items);
        Py_XDECREF(text);
    }
    PyObject *plain = items ? plain_mapping(parts, merged, PLAIN_DETAIL) : NULL;
    Py_XDECREF(items);
    Py_DECREF(merged);
    return plain;
}

/* plain_extras(rows, plain, scrub, code_names, redact, memo, deleted): the names and the
 * extras, (time, detail, facts, thread), of a record's rows, as `_freeze` makes them. */
static PyObject *
plain_extras(PyObject *module, PyObject *args)
{
    PyObject *rows, *scrub;
    PlainParts parts;
    if (!PyArg_ParseTuple(args, "O!OOO!OO!O", &PyList_Type, &rows, &parts.plain, &scrub,
                          &PyFrozenSet_Type, &parts.code_names, &parts.redact,
                          &PyDict_Type, &parts.memo, &parts.deleted))
        return NULL;
    if (SR_PYTHON == NULL || SAFE_VALUE == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "repr_helpers()/value_helpers() were not called");
        return NULL;
    }
    parts.scrub = scrub == Py_None ? NULL : scrub;
    parts.redact = PyObject_IsTrue(parts.redact) ? Py_True : Py_False;
    Py_ssize_t count = PyList_GET_SIZE(rows);
    PyObject *names = PyList_New(count), *extras = names ? PyList_New(count) : NULL;
    for (Py_ssize_t i = 0; extras && i < count; i++) {
        PyObject *row = PyList_GET_ITEM(rows, i);
        if (!PyTuple_CheckExact(row) || PyTuple_GET_SIZE(row) != 12) {
            PyErr_SetString(PyExc_TypeError, "plain_extras: a row is a tuple of 12");
            Py_CLEAR(extras);
            break;
        }
        PyObject *name = PyTuple_GET_ITEM(row, 3);
        name = PyUnicode_CheckExact(name) ? Py_NewRef(name) : plain_text(&parts, name);
        PyObject *detail = name ? plain_detail(&parts, PyTuple_GET_ITEM(row, 8),
                                               PyTuple_GET_ITEM(row, 11)) : NULL;
        PyObject *facts = detail ? plain_mapping(&parts, PyTuple_GET_ITEM(row, 10), 0) : NULL;
        PyObject *extra = facts ? PyTuple_Pack(4, PyTuple_GET_ITEM(row, 6), detail, facts,
                                               PyTuple_GET_ITEM(row, 7)) : NULL;
        Py_XDECREF(detail);
        Py_XDECREF(facts);
        if (extra == NULL) {
            Py_XDECREF(name);
            Py_CLEAR(extras);
            break;
        }
        PyList_SET_ITEM(names, i, name);
        PyList_SET_ITEM(extras, i, extra);
    }
    if (extras == NULL) {
        Py_XDECREF(names);
        return NULL;
    }
    PyObject *both = PyTuple_Pack(2, names, extras);
    Py_DECREF(names);
    Py_DECREF(extras);
    return both;
}

/* hook_helpers(bookkeeping, environ_summary): what the stand-ins share with the Python
 * side, given once. */
static PyObject *
hook_helpers(PyObject *module, PyObject *args)
{
    PyObject *bookkeeping, *environ_summary;
    if (!PyArg_ParseTuple(args, "OO", &bookkeeping, &environ_summary))
        return NULL;
    Py_XSETREF(BOOKKEEPING, Py_NewRef(bookkeeping));
    Py_XSETREF(ENVIRON_SUMMARY, Py_NewRef(environ_summary));
    Py_RETURN_NONE;
}

/* value_helpers(safe_value, secret_names, is_secret_name, redacted): how `named_value`
 * stores a named value as `safe_value` does, given once. */
static PyObject *
value_helpers(PyObject *module, PyObject *args)
{
    PyObject *safe_value, *secret_names, *is_secret_name, *redacted;
    if (!PyArg_ParseTuple(args, "OO!OU", &safe_value, &PyDict_Type, &secret_names,
                          &is_secret_name, &redacted))
        return NULL;
    Py_XSETREF(SAFE_VALUE, Py_NewRef(safe_value));
    Py_XSETREF(SECRET_NAMES, Py_NewRef(secret_names));
    Py_XSETREF(IS_SECRET_NAME, Py_NewRef(is_secret_name));
    Py_XSETREF(REDACTED, Py_NewRef(redacted));
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"pause_tracing", pause_tracing, METH_NOARGS,
     "Run this thread untraced until resume_tracing() (3.11, when our tracer traces it)."},
    {"resume_tracing", resume_tracing, METH_NOARGS,
     "End what the matching pause_tracing() began."},
    {"repr_helpers", repr_helpers, METH_VARARGS,
     "repr_helpers(python_safe_repr, routes, scrubber, redact_text, own, names, placeholder):"
     " what safe_repr hands the rest to."},
    {"plain_extras", plain_extras, METH_VARARGS,
     "plain_extras(rows, plain, scrub, code_names, redact, memo, deleted): names and extras "
     "of a record's rows as plain values, as the trace is built."},
    {"record_rows", record_rows, METH_VARARGS,
     "record_rows(steps, logged, details, facts, raw, start, stop): StepRecord.rows()."},
    {"named", named_function, METH_VARARGS,
     "named(values, redact): Recorder.named, the stored form of each named value."},
    {"walk_helpers", walk_helpers, METH_VARARGS,
     "walk_helpers(repr1, names_only): the Python walk's repr1 and _names_only, for what the "
     "compiled walk of containers leaves to them."},
    {"safe_repr", (PyCFunction)(void (*)(void))safe_repr_function,
     METH_FASTCALL | METH_KEYWORDS,
     "safe_repr(value, *, redact=True): `tracer.saferepr.safe_repr`, its common cases in C."},
    {"hook_helpers", hook_helpers, METH_VARARGS,
     "hook_helpers(bookkeeping, environ_summary): what Hook stand-ins share with the "
     "Python side."},
    {"value_helpers", value_helpers, METH_VARARGS,
     "value_helpers(safe_value, secret_names, is_secret_name, redacted): how a named value "
     "is stored."},
    {NULL}
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "tracer._stepcore",
    "The recorder's per-step bookkeeping, compiled (see tracer/recorder.py).", -1,
    module_methods,
};

/* -- LineWatch: the code watcher's sys.monitoring LINE callback (3.12+) -----------------
 *
 * `CodeWatcher._on_line`, compiled: a quotable line of a hooked function ran, told to
 * `recorder.ran_line`; any other line is disabled where it is, at its first event. */

typedef struct {
    PyObject_HEAD
    PyObject *wanted;    /* id(code) -> frozenset of its quotable lines (the watcher's dict) */
    PyObject *ran_line;  /* recorder.ran_line(code, line) */
    PyObject *disable;   /* sys.monitoring.DISABLE */
    PyObject *failed;    /* recorder.failed(error) */
    vectorcallfunc vectorcall;
} LineWatch;

static int
LineWatch_traverse(LineWatch *self, visitproc visit, void *arg)
{
    Py_VISIT(self->wanted);
    Py_VISIT(self->ran_line);
    Py_VISIT(self->disable);
    Py_VISIT(self->failed);
    return 0;
}

static int
LineWatch_clear(LineWatch *self)
{
    Py_CLEAR(self->wanted);
    Py_CLEAR(self->ran_line);
    Py_CLEAR(self->disable);
    Py_CLEAR(self->failed);
    return 0;
}

static void
LineWatch_dealloc(LineWatch *self)
{
    PyObject_GC_UnTrack(self);
    LineWatch_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* callback(code, line) */
static PyObject *
LineWatch_vectorcall(LineWatch *self, PyObject *const *args, size_t nargsf,
                     PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) != 2 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "LineWatch(code, line)");
        return NULL;
    }
    PyObject *key = PyLong_FromVoidPtr(args[0]);
    if (key == NULL)
        return NULL;
    PyObject *lines = PyDict_GetItemWithError(self->wanted, key);
    Py_DECREF(key);
    if (lines == NULL)
        return PyErr_Occurred() ? NULL : Py_NewRef(self->disable);
    int found = PySequence_Contains(lines, args[1]);
    if (found <= 0)
        return found < 0 ? NULL : Py_NewRef(self->disable);
    PyObject *ran = PyObject_Vectorcall(self->ran_line, args, 2, NULL);
    if (ran != NULL) {
        Py_DECREF(ran);
        Py_RETURN_NONE;
    }
    if (!PyErr_ExceptionMatches(PyExc_Exception))
        return NULL;  /* KeyboardInterrupt and the like reach the app, as in Python */
    PyObject *failure = raised_error();
    PyObject *counted = PyObject_CallOneArg(self->failed, failure);
    Py_DECREF(failure);
    if (counted == NULL)
        return NULL;
    Py_DECREF(counted);
    Py_RETURN_NONE;
}

static PyObject *
LineWatch_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *wanted, *ran_line, *disable, *failed;
    static char *names[] = {"wanted", "ran_line", "disable", "failed", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!OOO", names, &PyDict_Type, &wanted,
                                     &ran_line, &disable, &failed))
        return NULL;
    LineWatch *self = (LineWatch *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->wanted = Py_NewRef(wanted);
    self->ran_line = Py_NewRef(ran_line);
    self->disable = Py_NewRef(disable);
    self->failed = Py_NewRef(failed);
    self->vectorcall = (vectorcallfunc)LineWatch_vectorcall;
    return (PyObject *)self;
}

static PyTypeObject LineWatchType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._stepcore.LineWatch",
    .tp_doc = "LineWatch(wanted, ran_line, disable, failed): the code watcher's "
              "sys.monitoring LINE callback (3.12+).",
    .tp_basicsize = sizeof(LineWatch),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = LineWatch_new,
    .tp_dealloc = (destructor)LineWatch_dealloc,
    .tp_traverse = (traverseproc)LineWatch_traverse,
    .tp_clear = (inquiry)LineWatch_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(LineWatch, vectorcall),
};

#if PY_VERSION_HEX >= 0x030C0000
/* -- CallWatch: the code watcher's sys.monitoring call callbacks (3.12+) ----------------
 *
 * `CodeWatcher._on_start`, `_on_return` and `_on_unwind`, compiled: a watched code object
 * (a decorator layer, the function a view class is wrapped in, a view-class method) starts
 * or ends inside a recorded request. Its call step is opened with the arguments it was
 * called with, stored as `recorder.named` stores them, after the watched `before(frame)`
 * and with the watched `facts(frame)`; it is closed with its result or exception. One
 * instance per event, sharing the watcher's dicts. */

enum { WATCH_START, WATCH_RETURN, WATCH_UNWIND };

static PyObject *STR_LINES_RECORD_CALLS, *KWNAMES_RESULT_LINE, *KWNAMES_ERROR_LINE;

typedef struct {
    PyObject_HEAD
    PyObject *watcher;      /* the CodeWatcher: `lines_record_calls` */
    PyObject *by_id;        /* id(code) -> Watched (the watcher's dict) */
    PyObject *open;         /* id(frame) -> its open step ids (the watcher's `_open`) */
    PyObject *request_var;  /* the ContextVar of the request being recorded */
    PyObject *recorder;     /* `call`, `leave`, `failed`, `redact` */
    int event;
    vectorcallfunc vectorcall;
} CallWatch;

static int
CallWatch_traverse(CallWatch *self, visitproc visit, void *arg)
{
    Py_VISIT(self->watcher);
    Py_VISIT(self->by_id);
    Py_VISIT(self->open);
    Py_VISIT(self->request_var);
    Py_VISIT(self->recorder);
    return 0;
}

static int
CallWatch_clear(CallWatch *self)
{
    Py_CLEAR(self->watcher);
    Py_CLEAR(self->by_id);
    Py_CLEAR(self->open);
    Py_CLEAR(self->request_var);
    Py_CLEAR(self->recorder);
    return 0;
}

static void
CallWatch_dealloc(CallWatch *self)
{
    PyObject_GC_UnTrack(self);
    CallWatch_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* `watched.before(frame)` then the call step, kept among the frame's open steps. */
static int
open_watched(CallWatch *self, PyObject *watched, PyFrameObject *frame, PyObject *code)
{
    PyObject *step = open_watched_step(self->recorder, watched, frame, code);
    PyObject *key = step ? PyLong_FromVoidPtr(frame) : NULL;
    int result = -1;
    if (key == NULL)
        goto done;
    PyObject *steps = PyDict_GetItemWithError(self->open, key);  /* borrowed */
    if (steps == NULL) {
        if (PyErr_Occurred() || (steps = PyList_New(0)) == NULL)
            goto done;
        int stored = PyDict_SetItem(self->open, key, steps);
        Py_DECREF(steps);  /* the dict holds it */
        if (stored < 0)
            goto done;
    }
    result = PyList_Append(steps, step);
done:
    Py_XDECREF(step);
    Py_XDECREF(key);
    return result;
}

/* `_pop_frame(frame)`: the innermost step the frame opened, taken off (a new reference;
 * None when it opened none). */
static PyObject *
pop_watched(CallWatch *self, PyFrameObject *frame)
{
    PyObject *key = PyLong_FromVoidPtr(frame);
    if (key == NULL)
        return NULL;
    PyObject *steps = PyDict_GetItemWithError(self->open, key);  /* borrowed */
    PyObject *step = NULL;
    if (steps == NULL || !PyList_Check(steps) || PyList_GET_SIZE(steps) == 0) {
        step = PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    }
    else {
        Py_ssize_t last = PyList_GET_SIZE(steps) - 1;
        step = Py_NewRef(PyList_GET_ITEM(steps, last));
        if (PyList_SetSlice(steps, last, last + 1, NULL) < 0 ||
            (last == 0 && PyDict_DelItem(self->open, key) < 0))
            Py_CLEAR(step);
    }
    Py_DECREF(key);
    return step;
}

/* `recorder.leave(step, result=value or error=value, line=frame.f_lineno)`. */
static int
close_watched(CallWatch *self, PyFrameObject *frame, PyObject *value)
{
    PyObject *step = pop_watched(self, frame);
    if (step == NULL)
        return -1;
    PyObject *line = PyLong_FromLong(PyFrame_GetLineNumber(frame));
    if (line == NULL) {
        Py_DECREF(step);
        return -1;
    }
    PyObject *call[] = {self->recorder, step, value, line};
    PyObject *left = PyObject_VectorcallMethod(
        STR_LEAVE, call, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET,
        self->event == WATCH_RETURN ? KWNAMES_RESULT_LINE : KWNAMES_ERROR_LINE);
    Py_DECREF(line);
    Py_DECREF(step);
    Py_XDECREF(left);
    return left == NULL ? -1 : 0;
}

/* callback(code, offset) for PY_START, callback(code, offset, value) for PY_RETURN and
 * PY_UNWIND. Anything that fails is counted by `recorder.failed`, never raised in the app
 * (but what is not an `Exception`, as the Python callbacks let it through). */
static PyObject *
CallWatch_vectorcall(CallWatch *self, PyObject *const *args, size_t nargsf,
                     PyObject *kwnames)
{
    Py_ssize_t given = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL || given != (self->event == WATCH_START ? 2 : 3) ||
        !PyCode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "CallWatch(code, offset[, value])");
        return NULL;
    }
    PyObject *key = PyLong_FromVoidPtr(args[0]);
    if (key == NULL)
        return NULL;
    PyObject *watched = PyDict_GetItemWithError(self->by_id, key);  /* borrowed */
    Py_DECREF(key);
    if (watched == NULL)
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    Py_INCREF(watched);
    int failed = 0;
    int lines_open_calls = truth_of(self->watcher, STR_LINES_RECORD_CALLS);
    PyObject *record = NULL;
    if (lines_open_calls < 0 || PyContextVar_Get(self->request_var, Py_None, &record) < 0)
        failed = -1;
    else if (!lines_open_calls && record != Py_None) {
        PyFrameObject *frame = PyEval_GetFrame();  /* the watched call's own */
        if (frame != NULL)
            failed = self->event == WATCH_START ? open_watched(self, watched, frame, args[0])
                                                : close_watched(self, frame, args[2]);
    }
    Py_XDECREF(record);
    Py_DECREF(watched);
    if (failed < 0 && counted_by(self->recorder) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
CallWatch_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *watcher, *by_id, *open, *request_var, *recorder;
    const char *event;
    static char *names[] = {"event", "watcher", "by_id", "open", "request_var", "recorder",
                            NULL};
    if (SAFE_VALUE == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "CallWatch: value_helpers(...) was not called");
        return NULL;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sOO!O!O!O", names, &event, &watcher,
                                     &PyDict_Type, &by_id, &PyDict_Type, &open,
                                     &PyContextVar_Type, &request_var, &recorder))
        return NULL;
    int kind = strcmp(event, "start") == 0 ? WATCH_START
             : strcmp(event, "return") == 0 ? WATCH_RETURN
             : strcmp(event, "unwind") == 0 ? WATCH_UNWIND : -1;
    if (kind < 0) {
        PyErr_SetString(PyExc_ValueError, "event is 'start', 'return' or 'unwind'");
        return NULL;
    }
    CallWatch *self = (CallWatch *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->event = kind;
    self->watcher = Py_NewRef(watcher);
    self->by_id = Py_NewRef(by_id);
    self->open = Py_NewRef(open);
    self->request_var = Py_NewRef(request_var);
    self->recorder = Py_NewRef(recorder);
    self->vectorcall = (vectorcallfunc)CallWatch_vectorcall;
    return (PyObject *)self;
}

static PyTypeObject CallWatchType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._stepcore.CallWatch",
    .tp_doc = "CallWatch(event, watcher, by_id, open, request_var, recorder): the code "
              "watcher's sys.monitoring PY_START, PY_RETURN or PY_UNWIND callback (3.12+).",
    .tp_basicsize = sizeof(CallWatch),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = CallWatch_new,
    .tp_dealloc = (destructor)CallWatch_dealloc,
    .tp_traverse = (traverseproc)CallWatch_traverse,
    .tp_clear = (inquiry)CallWatch_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(CallWatch, vectorcall),
};
#endif

PyMODINIT_FUNC
PyInit__stepcore(void)
{
    if (PyType_Ready(&StepsType) < 0 || PyType_Ready(&CatcherType) < 0 ||
        PyType_Ready(&GuardType) < 0 || PyType_Ready(&CatchingType) < 0 ||
        PyType_Ready(&DepthType) < 0 ||
        PyType_Ready(&HookType) < 0 || PyType_Ready(&LineWatchType) < 0)
        return NULL;
#if PY_VERSION_HEX >= 0x030C0000
    if (PyType_Ready(&CallWatchType) < 0)
        return NULL;
#endif
#define INTERN(var, text) if (!((var) = PyUnicode_InternFromString(text))) return NULL
    INTERN(STR_STEPS, "steps");
    INTERN(STR_FILL, "...");
    INTERN(STR_LINE, "line");
    INTERN(STR_COMMA_SPACE, ", ");
    INTERN(STR_IDS, "ids");
    INTERN(STR_MAX_STEPS, "max_steps");
    INTERN(STR_DETAILS, "details");
    INTERN(STR_FACTS, "facts");
    INTERN(STR_DROP, "drop");
    INTERN(STR_REGISTRATION, "registration");
    INTERN(STR_CODES, "_codes");
    INTERN(STR_CALL, "call");
    INTERN(STR_RETURN, "return");
    INTERN(STR_EXCEPTION, "exception");
    INTERN(STR_RESULT, "result");
    INTERN(STR_QUESTION, "?");
    INTERN(STR_MUTED, "muted");
    INTERN(STR_LAST_RAN, "last_ran");
    INTERN(STR_LOGGED, "logged");
    INTERN(STR_NONE, "None");
    INTERN(STR_TRUE, "True");
    INTERN(STR_FALSE, "False");
    INTERN(STR_REPR, "repr");
    INTERN(KW_DETAIL, "detail");
    INTERN(KW_NAME, "name");
    INTERN(KW_ROLE, "role");
    INTERN(KW_FACTS, "facts");
    INTERN(KW_RESULT, "result");
    INTERN(KW_ERROR, "error");
    INTERN(KW_LINE, "line");
    INTERN(STR_F_TRACE, "f_trace");
    INTERN(STR_ACTIVE, "active");
    INTERN(STR_REDACT, "redact");
    INTERN(STR_FAILED, "failed");
    INTERN(STR_LEAVE, "leave");
    INTERN(STR_WSGI_VERSION, "wsgi.version");
    INTERN(STR_SELF, "self");
    INTERN(STR_CLS, "cls");
    INTERN(STR_ENTER, "__enter__");
    INTERN(STR_EXIT, "__exit__");
    INTERN(STR_QUALNAME, "__qualname__");
    if (!(KWNAMES_ROLE_FACTS = Py_BuildValue("(OO)", KW_ROLE, KW_FACTS)) ||
        !(KWNAMES_RESULT = Py_BuildValue("(O)", KW_RESULT)) ||
        !(KWNAMES_ERROR = Py_BuildValue("(O)", KW_ERROR)) ||
        !(KWNAMES_REDACT = Py_BuildValue("(O)", STR_REDACT)))
        return NULL;
    INTERN(STR_BEFORE, "before");
    INTERN(STR_F_LOCALS, "f_locals");
    INTERN(STR_F_TRACE_LINES, "f_trace_lines");
#if PY_VERSION_HEX >= 0x030C0000
    INTERN(STR_LINES_RECORD_CALLS, "lines_record_calls");
    if (!(KWNAMES_RESULT_LINE = Py_BuildValue("(OO)", KW_RESULT, KW_LINE)) ||
        !(KWNAMES_ERROR_LINE = Py_BuildValue("(OO)", KW_ERROR, KW_LINE)))
        return NULL;
#endif
    INTERN(EVENT_NAMES[PyTrace_CALL], "call");
    INTERN(EVENT_NAMES[PyTrace_EXCEPTION], "exception");
    INTERN(EVENT_NAMES[PyTrace_LINE], "line");
    INTERN(EVENT_NAMES[PyTrace_RETURN], "return");
    INTERN(EVENT_NAMES[PyTrace_OPCODE], "opcode");
#undef INTERN
#ifdef FRAME_TRACE
    frame_layout_known = frame_layout_holds();
    if (frame_layout_known < 0)
        return NULL;
#endif
#if PY_VERSION_HEX < 0x030C0000
    if (!(STR_CATCHER = PyUnicode_InternFromString("_catcher")) ||
        !(STR_GLOBAL_TRACE = PyUnicode_InternFromString("_global_trace")) ||
        !(STR_START = PyUnicode_InternFromString("start")))
        return NULL;
    PyObject *sys = PyImport_ImportModule("sys");
    SYS_GETTRACE = sys ? PyObject_GetAttrString(sys, "gettrace") : NULL;
    SYS_SETTRACE = SYS_GETTRACE ? PyObject_GetAttrString(sys, "settrace") : NULL;
    Py_XDECREF(sys);
    if (SYS_SETTRACE == NULL)
        return NULL;
    PyObject *line_core = PyImport_ImportModule("tracer._linecore");
    PyObject *capsule = line_core ? PyObject_GetAttrString(line_core, "TRACE_FUNCTION") : NULL;
    Py_tracefunc *found = capsule ? PyCapsule_GetPointer(capsule, TRACE_FUNCTION_CAPSULE) : NULL;
    if (found != NULL)
        line_tracer = *found;
    else
        PyErr_Clear();  /* not built, or built from older sources: the Catcher alone */
    Py_XDECREF(capsule);
    Py_XDECREF(line_core);
#endif
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "Steps", (PyObject *)&StepsType) < 0 ||
        PyModule_AddObjectRef(module, "Catcher", (PyObject *)&CatcherType) < 0 ||
        PyModule_AddObjectRef(module, "Guard", (PyObject *)&GuardType) < 0 ||
        PyModule_AddObjectRef(module, "Depth", (PyObject *)&DepthType) < 0 ||
        PyModule_AddObjectRef(module, "Catching", (PyObject *)&CatchingType) < 0 ||
        PyModule_AddObjectRef(module, "Hook", (PyObject *)&HookType) < 0 ||
        PyModule_AddObjectRef(module, "LineWatch", (PyObject *)&LineWatchType) < 0 ||
#if PY_VERSION_HEX >= 0x030C0000
        PyModule_AddObjectRef(module, "CallWatch", (PyObject *)&CallWatchType) < 0 ||
#endif
        PyModule_AddIntConstant(module, "INTERFACE", INTERFACE) < 0 ||
#ifdef FRAME_TRACE
        PyModule_AddIntConstant(module, "FRAME_TRACE_READ_DIRECTLY", frame_layout_known) < 0 ||
#endif
        0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
