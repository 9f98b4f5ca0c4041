/* The node scan of a binary MetaGraphDef (formats/node_scan.py) in one C pass.
 *
 * Optional: graphtui works without it (node_scan.py's numpy scanner gives the same table, more
 * slowly; the tests check that both agree). The pass walks the MetaGraphDef's top-level fields,
 * the GraphDef's fields and each node's top-level fields with protobuf's framing rules, the GIL
 * released; it gives up (returns None) on exactly the faults the numpy scanner gives up on: a
 * record running past its parent, a group or wire type 6/7, a varint cut off or longer than 10
 * bytes, field number 0, and (when names are made) a name that is not UTF-8.
 *
 * scan(data, names=True) -> None | (starts, ends, name_starts, name_ends, op_starts, op_ends,
 *                                   shell_head, shell_tail, runs, names)
 *   the six int64 arrays as buffer objects (np.frombuffer); the shell (the message without
 *   its nodes) is shell_head + data[shell_tail:]; runs a list of (start, end) tuples, names a
 *   list of str (None when names=False).
 * inputs(data, starts, ends) -> None | (node, start, end): the payload range of every `input`
 *   field (NodeDef field 3) of the nodes at data[starts[i]:ends[i]], as int64 buffers.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WIRESCAN_VERSION 2 /* node_scan.py uses this module only when the versions agree */

#define GRAPH_DEF_TAG 0x12 /* MetaGraphDef.graph_def = 2, length-delimited */
#define NODE_TAG 0x0A      /* GraphDef.node = 1 and NodeDef.name = 1 */
#define OP_TAG 0x12        /* NodeDef.op = 2 */
#define INPUT_TAG 0x1A     /* NodeDef.input = 3 */

/* ---- growable arrays (no Python objects: filled with the GIL released) ---- */

typedef struct {
    char *p;
    size_t n, cap; /* bytes */
} Bytes;

static int bytes_reserve(Bytes *b, size_t more) {
    if (b->cap - b->n >= more) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->n < more) {
        if (cap > SIZE_MAX / 2) return 0;
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) return 0;
    b->p = p;
    b->cap = cap;
    return 1;
}

static int bytes_put(Bytes *b, const void *src, size_t len) {
    if (!bytes_reserve(b, len)) return 0;
    if (len) memcpy(b->p + b->n, src, len);
    b->n += len;
    return 1;
}

static int bytes_varint(Bytes *b, uint64_t v) {
    unsigned char tmp[10];
    size_t k = 0;
    while (v >= 0x80) {
        tmp[k++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    tmp[k++] = (unsigned char)v;
    return bytes_put(b, tmp, k);
}

typedef struct {
    int64_t *col[6];
    size_t n, cap;
    int ncol;
} Table; /* ncol parallel int64 columns */

static int table_push(Table *t, const int64_t *row) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        for (int c = 0; c < t->ncol; c++) {
            int64_t *p = realloc(t->col[c], cap * sizeof(int64_t));
            if (!p) return 0;
            t->col[c] = p;
        }
        t->cap = cap;
    }
    for (int c = 0; c < t->ncol; c++) t->col[c][t->n] = row[c];
    t->n++;
    return 1;
}

/* Room for `rows` rows before the pass: pages of memory are only used when written, so a
 * generous guess costs nothing, while growing by doubling copies every column again. */
static int table_reserve(Table *t, size_t rows) {
    for (int c = 0; c < t->ncol; c++) {
        int64_t *p = realloc(t->col[c], rows * sizeof(int64_t));
        if (!p) return 0;
        t->col[c] = p;
    }
    t->cap = rows;
    return 1;
}

static void table_free(Table *t) {
    for (int c = 0; c < t->ncol; c++) {
        free(t->col[c]);
        t->col[c] = NULL;
    }
}

/* ---- the wire format ---- */

typedef enum { OK = 0, GIVE_UP = 1, NO_MEMORY = 2 } Status;

/* One varint at *pos, all of it before end (protobuf's and decode_varint's rule: at most 10
 * bytes). *over: bits beyond the 64th were set (the value is then larger than any length). */
static inline int read_varint(const unsigned char *d, Py_ssize_t *pos, Py_ssize_t end,
                              uint64_t *value, int *over) {
    Py_ssize_t p = *pos;
    if (p < end && d[p] < 0x80) { /* most tags and lengths: one byte */
        *value = d[p];
        *over = 0;
        *pos = p + 1;
        return 1;
    }
    uint64_t v = 0;
    int o = 0;
    for (int i = 0; i < 10; i++) {
        if (p >= end) return 0;
        unsigned char byte = d[p++];
        uint64_t low = byte & 0x7F;
        if (i == 9) {
            if (low > 1) o = 1;
            v |= low << 63;
        } else {
            v |= low << (7 * i);
        }
        if (byte < 0x80) {
            *value = v;
            *over = o;
            *pos = p;
            return 1;
        }
    }
    return 0; /* longer than 10 bytes */
}

/* The field whose tag starts at *pos: its tag, where its payload starts and where it ends
 * (numpy scanner's _skip: number 0, groups, wire types 6 and 7, overruns give up). */
static inline Status read_field(const unsigned char *d, Py_ssize_t *pos, Py_ssize_t end,
                                uint64_t *tag, int *tag_over, Py_ssize_t *payload) {
    uint64_t t, len;
    int over;
    Py_ssize_t p = *pos;
    if (!read_varint(d, &p, end, &t, tag_over)) return GIVE_UP;
    if (t < 8 && !*tag_over) return GIVE_UP; /* field number 0 */
    switch (t & 7) {
    case 0:
        *payload = p;
        if (!read_varint(d, &p, end, &len, &over)) return GIVE_UP;
        break;
    case 2:
        if (!read_varint(d, &p, end, &len, &over)) return GIVE_UP;
        if (over || len > (uint64_t)(end - p)) return GIVE_UP;
        *payload = p;
        p += (Py_ssize_t)len;
        break;
    case 1:
    case 5: {
        Py_ssize_t size = (t & 7) == 1 ? 8 : 4;
        if (end - p < size) return GIVE_UP;
        *payload = p;
        p += size;
        break;
    }
    default: /* groups (3, 4) and 6, 7 */
        return GIVE_UP;
    }
    *tag = t;
    *pos = p;
    return OK;
}

/* The shell: its head (up to the last graph_def field) is copied once, at the end, from
 * pieces: ranges of the data and of `extra` (each graph_def's new tag and length). Its tail
 * (every field after the last graph_def: the collections can be tens of MB) is data[tail:],
 * left where it is. */
enum { FROM_DATA = 0, FROM_EXTRA = 1 };

typedef struct {
    const unsigned char *d;
    Table nodes;  /* start, end, name start, name end, op start, op end */
    Table runs;   /* start, end */
    Table pieces; /* FROM_DATA or FROM_EXTRA, start, end */
    Bytes extra;
    size_t shell_size;
    size_t head_pieces, head_size; /* the pieces and bytes of the head so far */
    Py_ssize_t tail;               /* where the data after the last graph_def field starts */
} Scan;

static int add_piece(Scan *s, int64_t from, int64_t start, int64_t end) {
    Table *t = &s->pieces;
    s->shell_size += (size_t)(end - start);
    if (t->n > s->head_pieces && t->col[0][t->n - 1] == from && t->col[2][t->n - 1] == start) {
        t->col[2][t->n - 1] = end;
        return 1;
    }
    int64_t row[3] = {from, start, end};
    return table_push(t, row);
}

static Status scan_node(Scan *s, Py_ssize_t pos, Py_ssize_t end) {
    int64_t row[6] = {pos, end, pos, pos, pos, pos};
    while (pos < end) {
        uint64_t tag;
        int over;
        Py_ssize_t payload;
        Status st = read_field(s->d, &pos, end, &tag, &over, &payload);
        if (st != OK) return st;
        if (over) continue;
        if (tag == NODE_TAG) {
            row[2] = payload;
            row[3] = pos;
        } else if (tag == OP_TAG) {
            row[4] = payload;
            row[5] = pos;
        }
    }
    return table_push(&s->nodes, row) ? OK : NO_MEMORY;
}

/* The GraphDef in d[pos:end]: its nodes to the table, its other fields to the shell; returns
 * their size in *rest. */
static Status scan_graph_def(Scan *s, Py_ssize_t pos, Py_ssize_t end, size_t *rest) {
    while (pos < end) {
        Py_ssize_t start = pos, payload;
        uint64_t tag;
        int over;
        Status st = read_field(s->d, &pos, end, &tag, &over, &payload);
        if (st != OK) return st;
        if (tag == NODE_TAG && !over) {
            st = scan_node(s, payload, pos);
            if (st != OK) return st;
            Table *r = &s->runs;
            if (r->n && r->col[1][r->n - 1] == start) {
                r->col[1][r->n - 1] = pos;
            } else {
                int64_t row[2] = {start, pos};
                if (!table_push(r, row)) return NO_MEMORY;
            }
        } else {
            if (!add_piece(s, FROM_DATA, start, pos)) return NO_MEMORY;
            *rest += (size_t)(pos - start);
        }
    }
    return OK;
}

static Status scan_meta_graph(Scan *s, Py_ssize_t size) {
    Py_ssize_t pos = 0;
    while (pos < size) {
        Py_ssize_t start = pos, payload;
        uint64_t tag;
        int over;
        Status st = read_field(s->d, &pos, size, &tag, &over, &payload);
        if (st != OK) return st;
        if (tag == GRAPH_DEF_TAG && !over) {
            /* the field's new tag and length go before its other fields: a placeholder piece */
            if (!add_piece(s, FROM_EXTRA, 0, 0)) return NO_MEMORY;
            size_t header = s->pieces.n - 1, rest = 0;
            st = scan_graph_def(s, payload, pos, &rest);
            if (st != OK) return st;
            int64_t at = (int64_t)s->extra.n;
            if (!(bytes_varint(&s->extra, GRAPH_DEF_TAG) && bytes_varint(&s->extra, rest)))
                return NO_MEMORY;
            s->pieces.col[1][header] = at;
            s->pieces.col[2][header] = (int64_t)s->extra.n;
            s->shell_size += s->extra.n - (size_t)at;
            s->head_pieces = s->pieces.n; /* the head ends here, unless another graph_def */
            s->head_size = s->shell_size;
            s->tail = pos;
        } else if (!add_piece(s, FROM_DATA, start, pos)) {
            return NO_MEMORY;
        }
    }
    return OK;
}

static void copy_head(const Scan *s, char *out) {
    const Table *t = &s->pieces;
    for (size_t i = 0; i < s->head_pieces; i++) {
        const char *src = t->col[0][i] == FROM_DATA ? (const char *)s->d : s->extra.p;
        size_t len = (size_t)(t->col[2][i] - t->col[1][i]);
        if (len) memcpy(out, src + t->col[1][i], len);
        out += len;
    }
}

/* ---- a buffer object owning one malloc'd block (an int64 column), for np.frombuffer ---- */

typedef struct {
    PyObject_HEAD
    void *ptr;
    Py_ssize_t size;
} Block;

static void block_dealloc(Block *self) {
    free(self->ptr);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int block_getbuffer(Block *self, Py_buffer *view, int flags) {
    return PyBuffer_FillInfo(view, (PyObject *)self, self->ptr, self->size, 0, flags);
}

static PyBufferProcs block_as_buffer = {(getbufferproc)block_getbuffer, NULL};

static PyTypeObject BlockType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "graphtui.formats._wirescan.Block",
    .tp_basicsize = sizeof(Block),
    .tp_dealloc = (destructor)block_dealloc,
    .tp_as_buffer = &block_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "int64 values in one block of memory (read it with numpy.frombuffer)",
};

/* A Block taking over column c of t (t's pointer is cleared). */
static PyObject *block_from(Table *t, int c) {
    Block *b = PyObject_New(Block, &BlockType);
    if (!b) return NULL;
    b->ptr = t->col[c];
    if (b->ptr && t->n < t->cap) { /* give back the room guessed and not used */
        void *fit = realloc(b->ptr, t->n ? t->n * sizeof(int64_t) : sizeof(int64_t));
        if (fit) b->ptr = fit;
    }
    b->size = (Py_ssize_t)(t->n * sizeof(int64_t));
    t->col[c] = NULL;
    if (!b->ptr) { /* no rows: an empty block still needs a valid pointer */
        b->ptr = malloc(sizeof(int64_t));
        if (!b->ptr) {
            Py_DECREF(b);
            return PyErr_NoMemory();
        }
    }
    return (PyObject *)b;
}

static PyObject *blocks_tuple(Table *t, int ncol) {
    PyObject *out = PyTuple_New(ncol);
    if (!out) return NULL;
    for (int c = 0; c < ncol; c++) {
        PyObject *b = block_from(t, c);
        if (!b) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, c, b);
    }
    return out;
}

/* Every node's name, strictly UTF-8; NULL with UnicodeDecodeError when one is not. */
static PyObject *make_names(const unsigned char *d, const Table *nodes) {
    PyObject *list = PyList_New((Py_ssize_t)nodes->n);
    if (!list) return NULL;
    const int64_t *a = nodes->col[2], *b = nodes->col[3];
    for (size_t i = 0; i < nodes->n; i++) {
        PyObject *name = PyUnicode_DecodeUTF8((const char *)d + a[i], b[i] - a[i], "strict");
        if (!name) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, name);
    }
    return list;
}

static PyObject *wirescan_scan(PyObject *module, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"data", "names", NULL};
    Py_buffer buf;
    int want_names = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*|p", kwlist, &buf, &want_names))
        return NULL;
    Scan s = {0};
    s.d = buf.buf;
    s.nodes.ncol = 6;
    s.runs.ncol = 2;
    s.pieces.ncol = 3;
    Status st;
    Py_BEGIN_ALLOW_THREADS
    /* a guess at the node count: TensorFlow's nodes take a few hundred bytes each */
    if (!table_reserve(&s.nodes, (size_t)buf.len / 128 + 1024))
        st = NO_MEMORY;
    else
        st = buf.len ? scan_meta_graph(&s, buf.len) : GIVE_UP;
    Py_END_ALLOW_THREADS
    PyObject *result = NULL, *names = NULL, *runs = NULL, *shell = NULL, *cols = NULL;
    if (st == NO_MEMORY) {
        PyErr_NoMemory();
        goto done;
    }
    if (st == GIVE_UP) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    if (want_names) {
        names = make_names(s.d, &s.nodes);
        if (!names) {
            if (PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
                PyErr_Clear();
                result = Py_NewRef(Py_None);
            }
            goto done;
        }
    } else {
        names = Py_NewRef(Py_None);
    }
    runs = PyList_New((Py_ssize_t)s.runs.n);
    if (!runs) goto done;
    for (size_t i = 0; i < s.runs.n; i++) {
        PyObject *pair = Py_BuildValue("(LL)", (long long)s.runs.col[0][i],
                                       (long long)s.runs.col[1][i]);
        if (!pair) goto done;
        PyList_SET_ITEM(runs, (Py_ssize_t)i, pair);
    }
    shell = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)s.head_size);
    if (!shell) goto done;
    copy_head(&s, PyBytes_AS_STRING(shell));
    cols = blocks_tuple(&s.nodes, 6);
    if (!cols) goto done;
    result = Py_BuildValue("(OOOOOOOnOO)", PyTuple_GET_ITEM(cols, 0), PyTuple_GET_ITEM(cols, 1),
                           PyTuple_GET_ITEM(cols, 2), PyTuple_GET_ITEM(cols, 3),
                           PyTuple_GET_ITEM(cols, 4), PyTuple_GET_ITEM(cols, 5), shell, s.tail,
                           runs, names);
done:
    Py_XDECREF(cols);
    Py_XDECREF(shell);
    Py_XDECREF(runs);
    Py_XDECREF(names);
    table_free(&s.nodes);
    table_free(&s.runs);
    table_free(&s.pieces);
    free(s.extra.p);
    PyBuffer_Release(&buf);
    return result;
}

/* ---- inputs: the payload of every NodeDef.input field of the given nodes ---- */

static Status scan_inputs(const unsigned char *d, Py_ssize_t size, const int64_t *starts,
                          const int64_t *ends, Py_ssize_t n, Table *out) {
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t pos = starts[i], end = ends[i];
        if (pos < 0 || end < pos || end > size) return GIVE_UP;
        while (pos < end) {
            uint64_t tag;
            int over;
            Py_ssize_t payload;
            Status st = read_field(d, &pos, end, &tag, &over, &payload);
            if (st != OK) return st;
            if (tag == INPUT_TAG && !over) {
                int64_t row[3] = {i, payload, pos};
                if (!table_push(out, row)) return NO_MEMORY;
            }
        }
    }
    return OK;
}

static PyObject *wirescan_inputs(PyObject *module, PyObject *args) {
    Py_buffer data, starts, ends;
    if (!PyArg_ParseTuple(args, "y*y*y*", &data, &starts, &ends)) return NULL;
    PyObject *result = NULL;
    Table out = {0};
    out.ncol = 3;
    if (starts.len != ends.len || starts.len % (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "starts and ends: int64 buffers of one length");
        goto done;
    }
    Status st;
    Py_BEGIN_ALLOW_THREADS
    st = scan_inputs(data.buf, data.len, starts.buf, ends.buf,
                     starts.len / (Py_ssize_t)sizeof(int64_t), &out);
    Py_END_ALLOW_THREADS
    if (st == NO_MEMORY)
        PyErr_NoMemory();
    else if (st == GIVE_UP)
        result = Py_NewRef(Py_None);
    else
        result = blocks_tuple(&out, 3);
done:
    table_free(&out);
    PyBuffer_Release(&data);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&ends);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", (PyCFunction)(void (*)(void))wirescan_scan, METH_VARARGS | METH_KEYWORDS,
     "scan(data, names=True): the node table of a binary MetaGraphDef, or None."},
    {"inputs", wirescan_inputs, METH_VARARGS,
     "inputs(data, starts, ends): (node, start, end) of every NodeDef.input field, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_wirescan", "The node scan of a binary MetaGraphDef in C.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__wirescan(void) {
    if (PyType_Ready(&BlockType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m) return NULL;
    if (PyModule_AddIntConstant(m, "VERSION", WIRESCAN_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
