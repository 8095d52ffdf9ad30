"""Section 1: why the learning rate is hard, on problems small enough to see whole.

surfaces          toy losses with known curvature: a quadratic, a ravine, a saddle
gradient_descent  paths of gradient descent, the 2/lambda_max bound, step regimes, escaping a saddle
plateaus          a 2-2-1 sigmoid network on XOR: a loss curve with a plateau, and its Hessian
sparse_features   one rate for a common and a rare feature; SGD against AdaGrad
robbins_monro     partial sums of step-size sequences; SGD on a noisy quadratic and its noise floor
settings          the section's experiment sizes (quick / full)
figures           record -> figure
explorer          gradient descent on a ravine or a saddle, live
"""
