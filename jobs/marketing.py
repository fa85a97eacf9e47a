"""spark-submit entry point: see `./spark-submit.sh marketing --help`."""

from lakecart.jobs.marketing import main

if __name__ == "__main__":
    main()
