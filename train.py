"""Train one MLP on Iris, or sweep with -m.

    python train.py impl=manual init=xavier
    python train.py -m impl=manual,nn init=default,xavier seed=0,1,2
"""

from mlplab.cli import main

if __name__ == "__main__":
    main()
