!> Bad input with `stat` present: a non-zero status and a message, and nothing
!> else happens. Uncreated and destroyed objects, array/buffer size mismatch,
!> non-contiguous arrays, a missing .spv, dispatches that do not match the
!> kernel, views that do not fit, a timeout.
program test_errors
    use gpuasync
    use gpuasync_test_support
    use, intrinsic :: iso_c_binding, only: c_float, c_int32_t, c_sizeof
    use, intrinsic :: iso_fortran_env, only: real32, real64, int32, int64
    implicit none

    type, bind(c) :: saxpy_push
        real(c_float) :: a
        integer(c_int32_t) :: n
    end type saxpy_push

    type(gpuasync_executor) :: ex, never, gone
    type(gpuasync_buffer) :: b, copy, fresh, small, device_local
    type(gpuasync_kernel) :: kernel, no_kernel
    type(saxpy_push) :: push
    real(real64) :: v(64)
    real(real32) :: x(64)
    real(real32), allocatable, asynchronous :: big(:), strided(:)
    real(real32), pointer :: view(:, :)
    integer(int32) :: three(3)
    integer(int64) :: ticket
    integer :: stat
    character(len=512) :: errmsg
    logical :: done

    call random_reals(v)
    x = real(v, real32)
    call new_executor(ex)

    ! uncreated and destroyed objects
    call fresh%write(x, stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'write to an uncreated buffer')
    call never%wait_idle(stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'wait_idle on an uncreated executor')
    done = never%poll(1_int64, stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'poll on an uncreated executor')
    call b%create(never, 256, stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'create a buffer on an uncreated executor')
    call no_kernel%dispatch([fresh], groups=[1], stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'dispatch an uncreated kernel')
    call b%create(ex, x)
    copy = b
    call b%destroy()
    call b%destroy(stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'destroy a destroyed buffer')
    allocate (big(64))
    call copy%read(big, ticket, stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'read through a copy of a destroyed buffer')
    call gone%create(validation=.true.)
    call small%create(gone, x)
    call gone%destroy()
    call small%write(x, stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'write to a buffer of a destroyed executor')
    call gone%destroy(stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'destroy a destroyed executor')

    ! array/buffer size mismatch
    call small%create(ex, x(1:16))
    deallocate (big)
    allocate (big(32))
    call small%read(big, ticket, stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_OUT_OF_RANGE, 'read 32 reals from a buffer of 16')
    call small%write(x, stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_OUT_OF_RANGE, 'write 64 reals into a buffer of 16')
    call small%write(x(1:8), offset_bytes=40_int64, stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_OUT_OF_RANGE, 'write 8 reals at element 10 of 16')
    call small%write(x(1:16), stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_OK, 'write exactly 16 reals')

    ! non-contiguous arrays: an error, never a silent copy
    call small%write(x(1:32:2), stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'write a strided array section')
    allocate (strided(32))
    call small%read(strided(1:32:2), ticket, stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'read into a strided array section')
    call check(ticket == 0, '  and no ticket was made')
    call fresh%create(ex, x(64:1:-1), stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'create from a reversed array section')
    call check(.not. fresh%is_created(), '  and no buffer was made')

    ! views that do not fit, or of memory that cannot be mapped
    call device_local%create(ex, 256)
    call device_local%map(view, shape=[8, 8], stat=stat, errmsg=errmsg)
    call check(stat /= GPUASYNC_OK .and. .not. associated(view), 'map a device-local buffer: ' // trim(errmsg))
    call fresh%create(ex, 256, kind=GPUASYNC_BUFFER_HOST_VISIBLE)
    call fresh%map(view, shape=[8, 9], stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_OUT_OF_RANGE, 'map an 8x9 real view of 256 bytes')
    call fresh%map(view, shape=[8, 8], stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_OK, 'map an 8x8 real view of 256 bytes')

    ! a missing .spv file
    call kernel%create(ex, spirv_path('no_such_kernel'), stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_IO_ERROR, 'create a kernel from a missing .spv')
    call check(.not. kernel%is_created(), '  and no kernel was made')
    call kernel%create(ex, [119734787_int32, 0_int32], stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_SPIRV, 'create a kernel from two words')

    ! dispatches that do not match the kernel
    call kernel%create(ex, spirv_path('saxpy'))
    push = saxpy_push(2.0, 16)
    call kernel%dispatch([small], groups=[1], push=push, push_bytes=c_sizeof(push), stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_KERNEL_MISMATCH, 'dispatch saxpy with one buffer')
    three = 1
    call kernel%dispatch([small, device_local], groups=[1], push=three, push_bytes=c_sizeof(three), &
        stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_KERNEL_MISMATCH, 'dispatch saxpy with 12 bytes of push constants')
    call kernel%dispatch([small, device_local], groups=[1], stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_KERNEL_MISMATCH, 'dispatch saxpy without push constants')
    call kernel%dispatch([small, device_local], groups=[1], push=push, stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'push without push_bytes')
    call kernel%dispatch([small, device_local], groups=[integer ::], push=push, push_bytes=c_sizeof(push), &
        stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'dispatch with no group counts')
    call kernel%dispatch([small, device_local], groups=[0], push=push, push_bytes=c_sizeof(push), &
        stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_KERNEL_MISMATCH, 'dispatch zero workgroups')
    call kernel%dispatch([small, copy], groups=[1], push=push, push_bytes=c_sizeof(push), stat=stat, errmsg=errmsg)
    call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'dispatch with a destroyed buffer')

    ! a wait that times out is not an error when `completed` is asked for
    call ex%wait(huge(1_int64), timeout=0.0_real64, completed=done, stat=stat, errmsg=errmsg)
    call check(stat /= GPUASYNC_OK .or. .not. done, 'a ticket never issued does not complete: ' // trim(errmsg))

    ! the errmsg of allocate's kind: left alone on success
    errmsg = 'untouched'
    call small%write(x(1:4), stat=stat, errmsg=errmsg)
    call check(stat == GPUASYNC_OK .and. errmsg == 'untouched', 'errmsg is left alone on success')

    call finish_executor(ex)
    call finish('test_errors')
end program test_errors
