"""spark-submit entry point: see `./spark-submit.sh recommend --help`."""

from lakecart.jobs.recommend import main

if __name__ == "__main__":
    main()
