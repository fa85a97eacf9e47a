"""spark-submit entry point: see `./spark-submit.sh basket --help`."""

from lakecart.jobs.basket import main

if __name__ == "__main__":
    main()
