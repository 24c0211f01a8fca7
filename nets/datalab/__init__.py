"""The data lab: what a modified training set does to a model, per class, and finding its bad labels again.

    shift       per-class recall, clean against modified, and the one-sentence lesson from the numbers
    crossval    out-of-sample probabilities by stratified k-fold cross-validation (the one engine), the clean step
    labelcheck  cleanlab's flags, precision and recall against injected flips, label-issues.npz
"""
