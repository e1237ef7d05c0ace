!> Buffers from Fortran arrays of every supported kind and rank: create from
!> an array, write (also at an offset), read, and zero-copy mapped views;
!> random data, every element compared with the source.
program test_buffers
    use gpuasync
    use gpuasync_test_support
    use, intrinsic :: iso_fortran_env, only: real32, real64, int32, int64
    implicit none
    type(gpuasync_executor) :: ex

    call new_executor(ex)
    call round_trip_r32()
    call round_trip_r64()
    call round_trip_i32()
    call round_trip_i64()
    call finish_executor(ex)
    call finish('test_buffers')

contains

    !> real(real32): ranks 1 to 3 through create/read, write at an offset, map.
    subroutine round_trip_r32()
        real(real64) :: v(2 * 3 * 5 * 7 * 11)
        real(real32), allocatable :: a1(:), a2(:, :), a3(:, :, :)
        real(real32), allocatable, asynchronous :: r1(:), r2(:, :), r3(:, :, :), whole(:)
        real(real32), pointer :: view1(:), view3(:, :, :)
        type(gpuasync_buffer) :: b1, b2, b3, mapped
        integer(int64) :: ticket, bytes
        integer :: n

        n = size(v)
        call random_reals(v)
        a1 = real(v, real32)
        a2 = reshape(a1(1:6 * 35), [6, 35])
        a3 = reshape(a1, [30, 7, 11])
        allocate (r1, mold=a1)
        allocate (r2, mold=a2)
        allocate (r3, mold=a3)
        bytes = storage_size(a1, int64) / 8

        call b1%create(ex, a1)
        call b2%create(ex, a2)
        call b3%create(ex, a3)
        call check(b1%size_bytes() == n * bytes, 'r32: a buffer sized from a rank-1 array')
        call check(b3%size_bytes() == n * bytes, 'r32: a buffer sized from a rank-3 array')
        call b1%read(r1, ticket)
        call b2%read(r2, ticket)
        call b3%read(r3, ticket)
        call ex%wait(ticket)
        call check(all(r1 == a1), 'r32: rank 1 create + read: every element')
        call check(all(r2 == a2), 'r32: rank 2 create + read: every element')
        call check(all(r3 == a3), 'r32: rank 3 create + read: every element')

        ! write a rank-2 block into the middle of the rank-1 buffer
        call b1%write(a2, offset_bytes=5 * bytes)
        allocate (whole(n))
        call b1%read(whole, ticket)
        do while (.not. ex%poll(ticket))
        end do
        call check(all(whole(1:5) == a1(1:5)) .and. all(whole(6:5 + size(a2)) == pack(a2, .true.)) &
            .and. all(whole(6 + size(a2):) == a1(6 + size(a2):)), 'r32: write at an offset, read back')

        ! zero-copy views of a host-visible buffer
        call mapped%create(ex, a3, kind=GPUASYNC_BUFFER_HOST_VISIBLE, ticket=ticket)
        call ex%wait(ticket)
        call mapped%map(view3, shape=[30, 7, 11])
        call check(all(view3 == a3), 'r32: rank 3 mapped view holds the written array')
        call mapped%map(view1)
        call check(size(view1) == n, 'r32: rank 1 view spans the whole buffer by default')
        view1 = a1(n:1:-1)
        call mapped%read(r1, ticket)
        call ex%wait(ticket)
        call check(all(r1 == a1(n:1:-1)), 'r32: host stores through the view reach the GPU buffer')

        call b1%destroy()
        call b2%destroy()
        call b3%destroy()
        call mapped%destroy()
        call check(.not. b1%is_created(), 'r32: destroyed')
    end subroutine round_trip_r32

    !> real(real64): ranks 1 to 3 through create/read, write at an offset, map.
    subroutine round_trip_r64()
        real(real64) :: v(2 * 3 * 5 * 7 * 11)
        real(real64), allocatable :: a1(:), a2(:, :), a3(:, :, :)
        real(real64), allocatable, asynchronous :: r1(:), r2(:, :), r3(:, :, :), whole(:)
        real(real64), pointer :: view1(:), view3(:, :, :)
        type(gpuasync_buffer) :: b1, b2, b3, mapped
        integer(int64) :: ticket, bytes
        integer :: n

        n = size(v)
        call random_reals(v)
        a1 = v
        a2 = reshape(a1(1:6 * 35), [6, 35])
        a3 = reshape(a1, [30, 7, 11])
        allocate (r1, mold=a1)
        allocate (r2, mold=a2)
        allocate (r3, mold=a3)
        bytes = storage_size(a1, int64) / 8

        call b1%create(ex, a1)
        call b2%create(ex, a2)
        call b3%create(ex, a3)
        call check(b1%size_bytes() == n * bytes, 'r64: a buffer sized from a rank-1 array')
        call check(b3%size_bytes() == n * bytes, 'r64: a buffer sized from a rank-3 array')
        call b1%read(r1, ticket)
        call b2%read(r2, ticket)
        call b3%read(r3, ticket)
        call ex%wait(ticket)
        call check(all(r1 == a1), 'r64: rank 1 create + read: every element')
        call check(all(r2 == a2), 'r64: rank 2 create + read: every element')
        call check(all(r3 == a3), 'r64: rank 3 create + read: every element')

        ! write a rank-2 block into the middle of the rank-1 buffer
        call b1%write(a2, offset_bytes=5 * bytes)
        allocate (whole(n))
        call b1%read(whole, ticket)
        do while (.not. ex%poll(ticket))
        end do
        call check(all(whole(1:5) == a1(1:5)) .and. all(whole(6:5 + size(a2)) == pack(a2, .true.)) &
            .and. all(whole(6 + size(a2):) == a1(6 + size(a2):)), 'r64: write at an offset, read back')

        ! zero-copy views of a host-visible buffer
        call mapped%create(ex, a3, kind=GPUASYNC_BUFFER_HOST_VISIBLE, ticket=ticket)
        call ex%wait(ticket)
        call mapped%map(view3, shape=[30, 7, 11])
        call check(all(view3 == a3), 'r64: rank 3 mapped view holds the written array')
        call mapped%map(view1)
        call check(size(view1) == n, 'r64: rank 1 view spans the whole buffer by default')
        view1 = a1(n:1:-1)
        call mapped%read(r1, ticket)
        call ex%wait(ticket)
        call check(all(r1 == a1(n:1:-1)), 'r64: host stores through the view reach the GPU buffer')

        call b1%destroy()
        call b2%destroy()
        call b3%destroy()
        call mapped%destroy()
        call check(.not. b1%is_created(), 'r64: destroyed')
    end subroutine round_trip_r64

    !> integer(int32): ranks 1 to 3 through create/read, write at an offset, map.
    subroutine round_trip_i32()
        integer(int32) :: v(2 * 3 * 5 * 7 * 11)
        integer(int32), allocatable :: a1(:), a2(:, :), a3(:, :, :)
        integer(int32), allocatable, asynchronous :: r1(:), r2(:, :), r3(:, :, :), whole(:)
        integer(int32), pointer :: view1(:), view3(:, :, :)
        type(gpuasync_buffer) :: b1, b2, b3, mapped
        integer(int64) :: ticket, bytes
        integer :: n

        n = size(v)
        call random_ints32(v)
        a1 = v
        a2 = reshape(a1(1:6 * 35), [6, 35])
        a3 = reshape(a1, [30, 7, 11])
        allocate (r1, mold=a1)
        allocate (r2, mold=a2)
        allocate (r3, mold=a3)
        bytes = storage_size(a1, int64) / 8

        call b1%create(ex, a1)
        call b2%create(ex, a2)
        call b3%create(ex, a3)
        call check(b1%size_bytes() == n * bytes, 'i32: a buffer sized from a rank-1 array')
        call check(b3%size_bytes() == n * bytes, 'i32: a buffer sized from a rank-3 array')
        call b1%read(r1, ticket)
        call b2%read(r2, ticket)
        call b3%read(r3, ticket)
        call ex%wait(ticket)
        call check(all(r1 == a1), 'i32: rank 1 create + read: every element')
        call check(all(r2 == a2), 'i32: rank 2 create + read: every element')
        call check(all(r3 == a3), 'i32: rank 3 create + read: every element')

        ! write a rank-2 block into the middle of the rank-1 buffer
        call b1%write(a2, offset_bytes=5 * bytes)
        allocate (whole(n))
        call b1%read(whole, ticket)
        do while (.not. ex%poll(ticket))
        end do
        call check(all(whole(1:5) == a1(1:5)) .and. all(whole(6:5 + size(a2)) == pack(a2, .true.)) &
            .and. all(whole(6 + size(a2):) == a1(6 + size(a2):)), 'i32: write at an offset, read back')

        ! zero-copy views of a host-visible buffer
        call mapped%create(ex, a3, kind=GPUASYNC_BUFFER_HOST_VISIBLE, ticket=ticket)
        call ex%wait(ticket)
        call mapped%map(view3, shape=[30, 7, 11])
        call check(all(view3 == a3), 'i32: rank 3 mapped view holds the written array')
        call mapped%map(view1)
        call check(size(view1) == n, 'i32: rank 1 view spans the whole buffer by default')
        view1 = a1(n:1:-1)
        call mapped%read(r1, ticket)
        call ex%wait(ticket)
        call check(all(r1 == a1(n:1:-1)), 'i32: host stores through the view reach the GPU buffer')

        call b1%destroy()
        call b2%destroy()
        call b3%destroy()
        call mapped%destroy()
        call check(.not. b1%is_created(), 'i32: destroyed')
    end subroutine round_trip_i32

    !> integer(int64): ranks 1 to 3 through create/read, write at an offset, map.
    subroutine round_trip_i64()
        integer(int64) :: v(2 * 3 * 5 * 7 * 11)
        integer(int64), allocatable :: a1(:), a2(:, :), a3(:, :, :)
        integer(int64), allocatable, asynchronous :: r1(:), r2(:, :), r3(:, :, :), whole(:)
        integer(int64), pointer :: view1(:), view3(:, :, :)
        type(gpuasync_buffer) :: b1, b2, b3, mapped
        integer(int64) :: ticket, bytes
        integer :: n

        n = size(v)
        call random_ints64(v)
        a1 = v
        a2 = reshape(a1(1:6 * 35), [6, 35])
        a3 = reshape(a1, [30, 7, 11])
        allocate (r1, mold=a1)
        allocate (r2, mold=a2)
        allocate (r3, mold=a3)
        bytes = storage_size(a1, int64) / 8

        call b1%create(ex, a1)
        call b2%create(ex, a2)
        call b3%create(ex, a3)
        call check(b1%size_bytes() == n * bytes, 'i64: a buffer sized from a rank-1 array')
        call check(b3%size_bytes() == n * bytes, 'i64: a buffer sized from a rank-3 array')
        call b1%read(r1, ticket)
        call b2%read(r2, ticket)
        call b3%read(r3, ticket)
        call ex%wait(ticket)
        call check(all(r1 == a1), 'i64: rank 1 create + read: every element')
        call check(all(r2 == a2), 'i64: rank 2 create + read: every element')
        call check(all(r3 == a3), 'i64: rank 3 create + read: every element')

        ! write a rank-2 block into the middle of the rank-1 buffer
        call b1%write(a2, offset_bytes=5 * bytes)
        allocate (whole(n))
        call b1%read(whole, ticket)
        do while (.not. ex%poll(ticket))
        end do
        call check(all(whole(1:5) == a1(1:5)) .and. all(whole(6:5 + size(a2)) == pack(a2, .true.)) &
            .and. all(whole(6 + size(a2):) == a1(6 + size(a2):)), 'i64: write at an offset, read back')

        ! zero-copy views of a host-visible buffer
        call mapped%create(ex, a3, kind=GPUASYNC_BUFFER_HOST_VISIBLE, ticket=ticket)
        call ex%wait(ticket)
        call mapped%map(view3, shape=[30, 7, 11])
        call check(all(view3 == a3), 'i64: rank 3 mapped view holds the written array')
        call mapped%map(view1)
        call check(size(view1) == n, 'i64: rank 1 view spans the whole buffer by default')
        view1 = a1(n:1:-1)
        call mapped%read(r1, ticket)
        call ex%wait(ticket)
        call check(all(r1 == a1(n:1:-1)), 'i64: host stores through the view reach the GPU buffer')

        call b1%destroy()
        call b2%destroy()
        call b3%destroy()
        call mapped%destroy()
        call check(.not. b1%is_created(), 'i64: destroyed')
    end subroutine round_trip_i64
end program test_buffers
