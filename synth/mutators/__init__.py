"""Mutation operators for Warp kernel sources (one libcst-based operator per class)."""

from warp_synth.synth.mutators.base import ModuleInfo, NodeCtx, Operator, analyze
from warp_synth.synth.mutators.expressions import (
    PerturbConstant,
    SplitTemporary,
    SwapArithmetic,
    SwapAtomic,
    SwapComparison,
    SwapMathFunc,
    SwapReduction,
)
from warp_synth.synth.mutators.functions import ExtractFunc, InlineFunc
from warp_synth.synth.mutators.statements import (
    EarlyContinue,
    EarlyReturnGuard,
    LoopAccumulation,
    NegateBranch,
    StoreToAtomic,
    UnrollLoop,
    WrapInBranch,
)
from warp_synth.synth.mutators.structure import LiftArrayToVec3, RetypeFloat64, TidTo2D

ALL_OPERATORS: tuple[type[Operator], ...] = (
    SwapArithmetic,
    SwapComparison,
    SwapMathFunc,
    SwapReduction,
    SwapAtomic,
    PerturbConstant,
    SplitTemporary,
    WrapInBranch,
    EarlyContinue,
    EarlyReturnGuard,
    LoopAccumulation,
    UnrollLoop,
    StoreToAtomic,
    NegateBranch,
    ExtractFunc,
    InlineFunc,
    RetypeFloat64,
    LiftArrayToVec3,
    TidTo2D,
)

__all__ = ["ALL_OPERATORS", "ModuleInfo", "NodeCtx", "Operator", "analyze"]
