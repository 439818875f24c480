/* ops/fused.h -- the program format of the fused_elementwise op, shared by
 * the compiler pass that writes programs (graphc/pass_fuse_ew.c) and the
 * kernel that checks and runs them (ops/fused.c). Format: see fused.c's
 * opening comment; here are the word layout, the limits and the decoder. */
#ifndef OPS_FUSED_H
#define OPS_FUSED_H

#include <stddef.h>
#include <stdint.h>

#include "op.h"

/* The program is the concatenation of the ints of attributes 0..3
 * (prog, prog1, prog2, prog3), so it holds up to 4 * OP_MAX_INTS words. */
#define FE_PROG_ATTRS 4
#define FE_MAX_WORDS (FE_PROG_ATTRS * OP_MAX_INTS)
#define FE_MAX_INSTR FE_MAX_WORDS
#define FE_MAX_REGS (OP_MAX_INPUTS + FE_MAX_INSTR) /* < 256: fits a register field */

/* One instruction word: bits 0-7 opcode (an op_kind), 8-15 first operand
 * register, 16-23 second operand register (0 for unary ops), 24-31 variant
 * (gelu: approximate 0/1; else 0); bits 32-63 zero. */
static inline int64_t fe_word(int op, int a, int b, int variant)
{
    return (int64_t)((uint32_t)op & 0xffu) | (int64_t)((uint32_t)a & 0xffu) << 8 |
           (int64_t)((uint32_t)b & 0xffu) << 16 | (int64_t)((uint32_t)variant & 0xffu) << 24;
}

/* A param word holds the bits of an IEEE double (leaky_relu alpha, clip
 * min and max), so the fused op sees exactly the attribute's value. */
static inline int64_t fe_param_word(double v)
{
    union { double d; int64_t i; } u;
    u.d = v;
    return u.i;
}

/* A decoded instruction; its result is register n_in + its index. */
typedef struct fe_instr {
    int op;             /* op_kind */
    int a, b;           /* operand registers (b unused for unary ops) */
    int variant;        /* gelu: 0 erf form, 1 tanh form */
    double p[2];        /* leaky_relu: alpha; clip: min, max */
} fe_instr;

typedef struct fe_prog {
    int n_in;
    int n_instr;
    fe_instr ins[FE_MAX_INSTR];
} fe_prog;

/* Operands of op k in a program: 1 or 2; 0 when op k cannot be fused. */
int fe_op_arity(int k);
/* Param words following an instruction word of op k (0, 1 or 2). */
int fe_op_n_params(int k);

/* Decodes and checks the program in attrs[0..FE_PROG_ATTRS-1] for a node with
 * n_in inputs: every word, opcode, register (only inputs and results of
 * earlier instructions may be read), variant and param. Returns 0, or -1 with
 * a message in err. Safe on any attribute contents (they come from files). */
int fe_prog_decode(const op_attr *attrs, int n_in, fe_prog *p, char *err, size_t err_len);

/* Encodes p into attrs[0..FE_PROG_ATTRS-1] (other attributes untouched).
 * Returns the number of words, or -1 when the program does not fit. */
int fe_prog_encode(const fe_prog *p, op_attr *attrs);

/* Words p needs when encoded. */
int fe_prog_words(const fe_prog *p);

#endif
